// GET /apis/auth.infrahq.com/v1alpha1/providers on the public door, without a bearer:
// the identity providers people can log in with and what a CLI needs to start a login
// there (authorization endpoint, client ID, scopes). Nothing secret: the same facts the
// providers' own discovery documents and login pages show.
import express from 'express';
import { apiVersion, loginProvidersPath, type LoginProviderList } from '../../api/auth/v1alpha1/types.ts';
import { errorMessage } from '../../lib/errors.ts';
import type { IdentityDeps } from '../identity/deps.ts';
import { loginProviders } from './provider.ts';
import { sendStatus } from '../http/status.ts';

export function loginProvidersAPI(deps: IdentityDeps): express.Router {
  const router = express.Router();
  router.get(loginProvidersPath, async (_req, res) => {
    try {
      const list: LoginProviderList = { apiVersion, kind: 'LoginProviderList', items: await loginProviders(deps) };
      res.json(list);
    } catch (err) {
      deps.logger.error({ err: errorMessage(err) }, 'listing login providers failed');
      sendStatus(res, 500, 'InternalError', 'an internal error occurred; the operator logged the details');
    }
  });
  return router;
}
