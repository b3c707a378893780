// What the doors serve for clients to find their way: the auth API's discovery documents
// (both doors; kubectl reads them), and on the public door the OIDC discovery document and
// the signing keys (JWKS), so a spoke kube-apiserver can trust Infra tokens directly.
import express from 'express';
import type { JSONWebKeySet } from 'jose';
import { apiVersion, group, kinds, version, type Kind } from '../../api/auth/v1alpha1/types.ts';

const resourceList = (served: ReadonlySet<Kind> | undefined) => ({
  kind: 'APIResourceList',
  apiVersion: 'v1',
  groupVersion: apiVersion,
  resources: Object.entries(kinds)
    .filter(([kind]) => served?.has(kind as Kind) ?? true)
    .map(([kind, { plural, singular }]) => ({
      name: plural,
      singularName: singular,
      namespaced: false,
      kind,
      // No categories: these are create-only requests, and `kubectl get infra` must list
      // only the objects people manage (it would fail trying to list a Login).
      verbs: ['create'],
    })),
});
const apiGroup = {
  kind: 'APIGroup',
  apiVersion: 'v1',
  name: group,
  versions: [{ groupVersion: apiVersion, version }],
  preferredVersion: { groupVersion: apiVersion, version },
};

/** The auth API's discovery documents for the kinds a door serves (all when not said). */
export function authDiscovery(served?: ReadonlySet<Kind>): express.Router {
  const resources = resourceList(served);
  const router = express.Router();
  router.get('/apis', (_req, res) => void res.json({ kind: 'APIGroupList', apiVersion: 'v1', groups: [apiGroup] }));
  router.get(`/apis/${group}`, (_req, res) => void res.json(apiGroup));
  router.get(`/apis/${group}/${version}`, (_req, res) => void res.json(resources));
  return router;
}

/**
 * How long verifiers may cache the JWKS. A kube-apiserver verifying Infra tokens itself
 * (Direct trust) honours it, and fetches the keys again on a token with an unknown key id
 * only when its cached keys expire within 30 s (go-oidc's keysExpiryDelta): with more than
 * 30 s it would refuse the tokens of a freshly rotated key until then.
 */
export const jwksMaxAgeSeconds = 30;

/** `/.well-known/openid-configuration` for the token issuer, and `/openid/v1/jwks` with its public keys. */
export function oidcDiscovery(issuer: string, jwks: () => JSONWebKeySet): express.Router {
  const router = express.Router();
  router.get('/.well-known/openid-configuration', (_req, res) => {
    res.json({
      issuer,
      jwks_uri: `${issuer}/openid/v1/jwks`,
      response_types_supported: ['id_token'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['ES256'],
    });
  });
  router.get('/openid/v1/jwks', (_req, res) => {
    res.set('Cache-Control', `public, max-age=${jwksMaxAgeSeconds}`).json(jwks());
  });
  return router;
}
