// The two doors to the auth API. The aggregated door trusts X-Remote-* identity headers
// only from a client certificate that verifies against the hub's front-proxy CA and
// carries an allowed CN; the public door ignores those headers and takes a bearer key.
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import express from 'express';
import type { JSONWebKeySet } from 'jose';
import type { PemPair } from '../../lib/pki.ts';
import { resolveIdentity } from '../access.ts';
import type { Hub } from '../hub.ts';
import { managementAPI, type ManagementDeps } from '../management/api.ts';
import { accessKeysAPI } from './accesskeys.ts';
import type { Authenticator } from '../http/caller.ts';
import { authCreates, authDiscovery, createdPlural, type AuthAPIDeps, type CreateHandler } from './api.ts';
import type { CredentialStore } from '../credentials/store.ts';
import { loginProvidersAPI } from './login-providers.ts';
import { sendStatus } from '../http/status.ts';

export interface FrontProxyTrust {
  /** PEM CA bundle that signs the hub's front-proxy client certificate. */
  ca: string;
  /** CNs allowed to assert identities; empty means any certificate from the CA. */
  allowedNames: string[];
}

/** Reads the request-header trust the hub publishes for extension API servers. */
export async function readFrontProxyTrust(kubeConfig: KubeConfig): Promise<FrontProxyTrust> {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const config = await core.readNamespacedConfigMap({ name: 'extension-apiserver-authentication', namespace: 'kube-system' });
  const ca = config.data?.['requestheader-client-ca-file'];
  if (!ca) throw new Error('kube-system/extension-apiserver-authentication has no requestheader-client-ca-file: the hub kube-apiserver runs without the aggregation layer (--requestheader-client-ca-file)');
  const allowedNames = JSON.parse(config.data?.['requestheader-allowed-names'] ?? '[]') as string[];
  return { ca, allowedNames };
}

export function aggregatedAuthenticator(hub: Hub, getTrust: () => FrontProxyTrust): { fromFrontProxy: (req: IncomingMessage) => boolean; authenticate: Authenticator } {
  const fromFrontProxy = (req: IncomingMessage) => {
    const socket = req.socket as TLSSocket;
    const cn = socket.authorized ? socket.getPeerCertificate().subject?.CN : undefined;
    const { allowedNames } = getTrust();
    return cn !== undefined && (allowedNames.length === 0 || allowedNames.includes(String(cn)));
  };
  const authenticate: Authenticator = async (req) => {
    const user = req.headersDistinct['x-remote-user']?.[0];
    if (!user) return undefined;
    return { identity: resolveIdentity(hub, user, req.headersDistinct['x-remote-group'] ?? []) };
  };
  return { fromFrontProxy, authenticate };
}

export function publicAuthenticator(hub: Hub, credentials: CredentialStore): Authenticator {
  return async (req) => {
    const match = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
    if (!match) return undefined;
    const credential = await credentials.authenticate(match[1]!);
    if (!credential) return undefined;
    return { identity: resolveIdentity(hub, credential.email), credential };
  };
}

export interface Doors {
  aggregated: Server;
  public: Server;
}

export interface DoorOptions {
  deps: AuthAPIDeps;
  management: ManagementDeps;
  serving: PemPair;
  trust: () => FrontProxyTrust;
  issuer: string;
  jwks: () => JSONWebKeySet;
}

/**
 * An express app for API answers: no X-Powered-By, and no ETag, which express would
 * otherwise compute (a hash of the body) for every answer although no client of these
 * APIs sends a conditional request: ~1% of the operator's CPU per token.
 */
function api(): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  return app;
}

/** Sends the auth API's creates to their own handler (api.ts says why), the rest to express. */
function route(app: express.Express, creates: CreateHandler): RequestListener {
  return (req, res) => {
    const plural = createdPlural(req);
    if (plural === undefined) app(req, res);
    else void creates(req, res, plural);
  };
}

const notFound = (_req: IncomingMessage, res: ServerResponse) => sendStatus(res, 404, 'NotFound', 'the server could not find the requested resource');

export function createDoors({ deps, management, serving, trust, issuer, jwks }: DoorOptions): Doors {
  const aggregatedApp = api();
  aggregatedApp.use(authDiscovery(), notFound);
  const { fromFrontProxy, authenticate } = aggregatedAuthenticator(deps.hub, trust);
  const aggregatedRoutes = route(aggregatedApp, authCreates(deps, authenticate));

  const publicApp = api();
  publicApp.get('/.well-known/openid-configuration', (_req, res) => {
    res.json({
      issuer,
      jwks_uri: `${issuer}/openid/v1/jwks`,
      response_types_supported: ['id_token'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['ES256'],
    });
  });
  publicApp.get('/openid/v1/jwks', (_req, res) => {
    res.set('Cache-Control', 'public, max-age=60').json(jwks());
  });
  const authenticatePublic = publicAuthenticator(deps.hub, deps.credentials);
  publicApp.use(authDiscovery(), accessKeysAPI(deps, authenticatePublic), loginProvidersAPI(deps.identity), managementAPI(management, authenticatePublic), notFound);

  const aggregated = createServer({ cert: serving.cert, key: serving.key, ca: trust().ca, requestCert: true, rejectUnauthorized: false }, (req, res) => {
    if (fromFrontProxy(req)) aggregatedRoutes(req, res);
    else sendStatus(res, 401, 'Unauthorized', "authentication failed: this endpoint serves only the hub kube-apiserver's aggregation layer");
  });
  const publicServer = createServer({ cert: serving.cert, key: serving.key }, route(publicApp, authCreates(deps, authenticatePublic)));
  return { aggregated, public: publicServer };
}

/** Swaps certificates and trust in place, e.g. after renewal or a front-proxy CA rotation. */
export function updateDoorTLS(doors: Doors, serving: PemPair, trust: FrontProxyTrust): void {
  doors.aggregated.setSecureContext({ cert: serving.cert, key: serving.key, ca: trust.ca, requestCert: true, rejectUnauthorized: false } as never);
  doors.public.setSecureContext({ cert: serving.cert, key: serving.key });
}
