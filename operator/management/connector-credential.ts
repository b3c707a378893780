// The connector's side of `infra destinations add`: it exchanges its bootstrap credential,
// once, for a bound token of its own ServiceAccount in the hub. The bootstrap credential
// is the only authentication here; no Infra session is involved.
import express from 'express';
import { minCredentialSeconds, type CredentialRequest } from '../../api/connector-bootstrap.ts';
import type { Logger } from '../../lib/log.ts';
import { StatusError } from '../../lib/status-error.ts';
import type { ConnectorIdentities } from '../connector-identity.ts';
import { maxBodyBytes } from '../http/body.ts';
import { answerError } from '../http/status.ts';

export function connectorCredentialAPI(connectors: ConnectorIdentities, audit: Logger, logger: Logger): express.Router {
  const router = express.Router();
  router.post('/apis/infrahq.com/v1alpha1/destinations/:name/credential', express.json({ limit: maxBodyBytes, type: () => true }), async (req, res) => {
    const destination = String(req.params['name']);
    try {
      const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      if (!bearer) throw new StatusError(401, 'Unauthorized', `send the bootstrap credential from \`infra destinations add ${destination}\` as a bearer token`);
      const seconds = (req.body as Partial<CredentialRequest> | undefined)?.expirationSeconds;
      if (seconds !== undefined && (!Number.isInteger(seconds) || seconds < minCredentialSeconds)) {
        throw new StatusError(422, 'Invalid', `expirationSeconds: must be a whole number of ${minCredentialSeconds} or more (Kubernetes' shortest token)`);
      }
      const credential = await connectors.exchange(destination, bearer, seconds ?? 3600);
      audit.info(
        { action: 'destination.credential', destination, serviceAccount: credential.serviceAccount, expiresAt: credential.expiresAt },
        'connector bootstrap credential exchanged',
      );
      res.status(201).json(credential);
    } catch (err) {
      if (err instanceof StatusError) logger.warn({ destination, reason: err.message }, 'connector bootstrap credential refused');
      answerError(res, err, logger, { api: 'connector-credential', destination });
    }
  });
  return router;
}
