// The operator's two HTTPS doors. The aggregated door serves TokenRequest and AccessReview,
// with their discovery and OpenAPI documents, to the hub's aggregation layer only (a client
// certificate from the front proxy, authenticate.ts); the public door serves the whole
// auth API, access keys, login providers, the management API and the OIDC discovery
// documents to the CLI, connectors and spoke API servers.
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import express from 'express';
import type { JSONWebKeySet } from 'jose';
import { kinds } from '../../api/auth/v1alpha1/types.ts';
import type { Logger } from '../../lib/log.ts';
import type { PemPair } from '../../lib/pki.ts';
import { accessKeysAPI } from '../authapi/access-keys.ts';
import { aggregatedKinds, authCreates, createdPlural, type CreateHandler } from '../authapi/creates.ts';
import type { AuthAPIDeps } from '../authapi/deps.ts';
import type { ClientAddress } from '../http/caller.ts';
import { sendStatus } from '../http/status.ts';
import { loginProvidersAPI } from '../login/provider-list.ts';
import { managementAPI, type ManagementDeps } from '../management/api.ts';
import { accessRequestsAPI, type AccessRequestsDeps } from '../management/requests.ts';
import { connectorCredentialAPI } from '../management/connector-credential.ts';
import { aggregatedAuthenticator, publicAuthenticator, type FrontProxyTrust } from './authenticate.ts';
import { publicClientAddress } from './client-address.ts';
import { authDiscovery, oidcDiscovery } from './discovery.ts';
import { authOpenAPIRoutes } from './openapi.ts';
import { SourceRateLimiter, type RateLimitSettings } from './rate-limit.ts';

export interface Doors {
  aggregated: Server;
  public: Server;
}

export interface DoorOptions {
  deps: AuthAPIDeps;
  management: ManagementDeps;
  requests: AccessRequestsDeps;
  serving: PemPair;
  trust: () => FrontProxyTrust;
  issuer: string;
  jwks: () => JSONWebKeySet;
  /** Per client address, for the public door's Logins, DeviceAuthorizations and unknown bearer keys. */
  rateLimit: RateLimitSettings;
  /** Proxies whose X-Forwarded-For names the client at the public door (client-address.ts). */
  trustedProxies: readonly string[];
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

/** Sends the auth API's creates to their own handler (authapi/creates.ts says why), the rest to express. */
function route(app: express.Express, creates: CreateHandler): RequestListener {
  return (req, res) => {
    const plural = createdPlural(req);
    if (plural === undefined) app(req, res);
    else void creates(req, res, plural);
  };
}

/** Creates that start a session: anyone may send them, so each spends from its source's bucket. */
const sessionStarts = new Set<string>([kinds.Login.plural, kinds.DeviceAuthorization.plural]);

/**
 * Holds back a source that sends too many Logins, DeviceAuthorizations or unknown bearer
 * keys (those the authenticator reports to the limiter), before any of its work is done:
 * 429 with Retry-After, while other sources are served as before.
 */
function limitSources(limiter: SourceRateLimiter, clientAddress: ClientAddress, logger: Logger, next: RequestListener): RequestListener {
  return (req, res) => {
    const source = clientAddress(req);
    const plural = createdPlural(req);
    const cost = plural !== undefined && sessionStarts.has(plural) ? 1 : req.headers.authorization ? 0 : undefined;
    const spent = cost === undefined ? undefined : limiter.take(source, cost);
    if (!spent?.retryAfterSeconds) return next(req, res);
    if (spent.firstRefusal) logger.warn({ source, retryAfterSeconds: spent.retryAfterSeconds }, 'rate limit: holding back a source');
    res.setHeader('Retry-After', String(spent.retryAfterSeconds));
    sendStatus(res, 429, 'TooManyRequests', `too many logins, device authorizations or unknown keys from ${source}: try again in ${spent.retryAfterSeconds}s`);
  };
}

const notFound = (_req: IncomingMessage, res: ServerResponse) => sendStatus(res, 404, 'NotFound', 'the server could not find the requested resource');

export function createDoors({ deps, management, requests, serving, trust, issuer, jwks, rateLimit, trustedProxies }: DoorOptions): Doors {
  const aggregatedApp = api();
  aggregatedApp.use(authDiscovery(aggregatedKinds), authOpenAPIRoutes(aggregatedKinds), notFound);
  const { fromFrontProxy, authenticate, frontProxyUser } = aggregatedAuthenticator(deps.hub, trust);
  // Every request there comes from the hub's kube-apiserver: the client is the user it vouches for.
  const aggregatedRoutes = route(aggregatedApp, authCreates(deps, authenticate, frontProxyUser, aggregatedKinds));

  const publicApp = api();
  const limiter = new SourceRateLimiter(rateLimit);
  const clientAddress = publicClientAddress(trustedProxies);
  const authenticatePublic = publicAuthenticator(deps.hub, deps.credentials, (req) => limiter.take(clientAddress(req)));
  publicApp.use(
    oidcDiscovery(issuer, jwks),
    authDiscovery(),
    authOpenAPIRoutes(),
    accessKeysAPI(deps, authenticatePublic),
    loginProvidersAPI(deps.identity),
    accessRequestsAPI(requests, authenticatePublic),
    connectorCredentialAPI(management.connectors, management.audit, deps.logger),
    managementAPI(management, authenticatePublic),
    notFound,
  );

  const aggregated = createServer({ cert: serving.cert, key: serving.key, ca: trust().ca, requestCert: true, rejectUnauthorized: false }, (req, res) => {
    if (fromFrontProxy(req)) aggregatedRoutes(req, res);
    else sendStatus(res, 401, 'Unauthorized', "authentication failed: this endpoint serves only the hub kube-apiserver's aggregation layer");
  });
  const publicServer = createServer(
    { cert: serving.cert, key: serving.key },
    limitSources(limiter, clientAddress, deps.logger, route(publicApp, authCreates(deps, authenticatePublic, clientAddress))),
  );
  return { aggregated, public: publicServer };
}

/** Swaps certificates and trust in place, e.g. after renewal or a front-proxy CA rotation. */
export function updateDoorTLS(doors: Doors, serving: PemPair, trust: FrontProxyTrust): void {
  doors.aggregated.setSecureContext({ cert: serving.cert, key: serving.key, ca: trust.ca, requestCert: true, rejectUnauthorized: false } as never);
  doors.public.setSecureContext({ cert: serving.cert, key: serving.key });
}
