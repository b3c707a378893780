// The auth API's handlers, one set behind two doors: the hub's aggregation layer
// (identity from verified X-Remote-* headers) and the operator's public endpoint
// (identity from a bearer session or access key). Every answer is a Kubernetes object
// or a Kubernetes Status, so kubectl and client libraries understand it.
import type { IncomingMessage, ServerResponse } from 'node:http';
import express from 'express';
import type { User } from '../../api/v1alpha1/types.ts';
import {
  apiVersion,
  group,
  kinds,
  version,
  type AccessKeySpec,
  type AccessKeyStatus,
  type AccessReviewStatus,
  type DeviceAuthorizationSpec,
  type Kind,
  type LoginSpec,
  type LoginStatus,
  type LogoutStatus,
  type PasswordChangeSpec,
  type PasswordResetSpec,
  type TokenRequestSpec,
  type TokenRequestStatus,
} from '../../api/auth/v1alpha1/types.ts';
import { parseDuration } from '../../api/duration.ts';
import type { Logger } from '../../lib/log.ts';
import type { EventRecorder } from '../events.ts';
import type { Authenticator, Caller } from '../http/caller.ts';
import { accessSummary, grantsOnDestination, infraRole, resolveIdentity, type Identity } from '../access.ts';
import { infraResource } from '../../api/grants.ts';
import type { Hub } from '../hub.ts';
import type { IdentityDeps } from '../identity/deps.ts';
import { loginWithProvider, startDeviceLogin } from '../identity/login.ts';
import type { Verifier } from '../identity/verification.ts';
import type { Credential, CredentialStore } from '../credentials/store.ts';
import type { LoginThrottle } from '../credentials/lockout.ts';
import type { PasswordSecrets } from '../credentials/password-secrets.ts';
import { lockedOut, passwordChange, passwordReset, recordFailure, requirePasswordChanged } from './password-requests.ts';
import { verifyPassword } from '../credentials/passwords.ts';
import { secretRefProblem } from '../secret-refs.ts';
import { StatusError } from '../../lib/status-error.ts';
import { readJSONBody } from '../http/body.ts';
import { answerError, authenticationFailed, sendJSON } from '../http/status.ts';

export interface TokenIssuer {
  issue(identity: Identity, destination: string): Promise<{ token: string; expiresAt: Date }>;
}

export interface AuthAPIDeps {
  hub: Hub;
  credentials: CredentialStore;
  tokens: TokenIssuer;
  bootstrapAdmins: readonly string[];
  readSecret: (name: string, key: string) => Promise<string | undefined>;
  events: EventRecorder;
  /** Audit trail: who did what, when. */
  audit: Logger;
  logger: Logger;
  /** Logins through identity providers and the Users they make. */
  identity: IdentityDeps;
  /** Re-verifies IdP sessions upstream before tokens. */
  verifier: Verifier;
  /** Password attempt limits. */
  throttle: LoginThrottle;
  /** Where passwords the operator sets are kept. */
  passwords: PasswordSecrets;
}

const resourceList = {
  kind: 'APIResourceList',
  apiVersion: 'v1',
  groupVersion: apiVersion,
  resources: Object.entries(kinds).map(([kind, { plural, singular }]) => ({
    name: plural,
    singularName: singular,
    namespaced: false,
    kind,
    // No categories: these are create-only requests, and `kubectl get infra` must list
    // only the objects people manage (it would fail trying to list a Login).
    verbs: ['create'],
  })),
};
const apiGroup = {
  kind: 'APIGroup',
  apiVersion: 'v1',
  name: group,
  versions: [{ groupVersion: apiVersion, version }],
  preferredVersion: { groupVersion: apiVersion, version },
};

/** The auth API's discovery documents, served through express with the doors' other routes. */
export function authDiscovery(): express.Router {
  const router = express.Router();
  router.get('/apis', (_req, res) => void res.json({ kind: 'APIGroupList', apiVersion: 'v1', groups: [apiGroup] }));
  router.get(`/apis/${group}`, (_req, res) => void res.json(apiGroup));
  router.get(`/apis/${group}/${version}`, (_req, res) => void res.json(resourceList));
  return router;
}

const createPrefix = `/apis/${group}/${version}/`;

/** The plural a request creates when it is a POST to the auth API's collection path. */
export function createdPlural(req: IncomingMessage): string | undefined {
  if (req.method !== 'POST' || !req.url?.startsWith(createPrefix)) return undefined;
  const query = req.url.indexOf('?');
  const plural = req.url.slice(createPrefix.length, query < 0 ? undefined : query);
  return plural !== '' && !plural.includes('/') ? plural : undefined;
}

export type CreateHandler = (req: IncomingMessage, res: ServerResponse, plural: string) => Promise<void>;

/**
 * Creates of every auth kind (a TokenRequest before each kubectl session, Logins, …). The
 * doors route them here ahead of express: this is the operator's hottest path, and
 * express's router and body parser were a tenth of its CPU per token (bench/README.md).
 */
export function authCreates(deps: AuthAPIDeps, authenticate: Authenticator): CreateHandler {
  const handlers: Record<Kind, (spec: never, caller: Caller | undefined, req: IncomingMessage) => Promise<unknown>> = {
    Login: (spec: LoginSpec, _caller, req) => login(deps, spec, clientAddress(req)),
    TokenRequest: (spec: TokenRequestSpec, caller) => tokenRequest(deps, spec, requireCaller(caller)),
    AccessReview: (_spec, caller) => accessReview(deps, requireCaller(caller)),
    Logout: (spec: { all?: boolean }, caller) => logout(deps, spec, requireCaller(caller)),
    AccessKey: (spec: AccessKeySpec, caller) => accessKey(deps, spec, requireCaller(caller)),
    PasswordReset: (spec: PasswordResetSpec, caller) => passwordReset(deps, spec, requireCaller(caller)),
    PasswordChange: (spec: PasswordChangeSpec, caller, req) => passwordChange(deps, spec, requireCaller(caller), clientAddress(req)),
    DeviceAuthorization: (spec: DeviceAuthorizationSpec) => startDeviceLogin(deps.identity, spec.provider),
  };
  const kindByPlural = new Map<string, Kind>(Object.entries(kinds).map(([kind, { plural }]) => [plural, kind as Kind]));

  return async (req, res, plural) => {
    const kind = kindByPlural.get(plural);
    try {
      if (!kind) throw new StatusError(404, 'NotFound', `the server could not find the requested resource ${plural}.${group}`);
      const body = (await readJSONBody(req)) as { apiVersion?: unknown; kind?: unknown; metadata?: { name?: string }; spec?: unknown };
      if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new StatusError(400, 'BadRequest', `the request body must be a ${kind} object`);
      if (body.apiVersion !== apiVersion || body.kind !== kind) {
        throw new StatusError(400, 'BadRequest', `expected apiVersion ${apiVersion} and kind ${kind} for ${plural}, got ${String(body.apiVersion)} ${String(body.kind)}`);
      }
      const parsed = kinds[kind].spec.safeParse(body.spec ?? {});
      if (!parsed.success) {
        const problems = parsed.error.issues.map((i) => `spec${i.path.map((p) => `.${String(p)}`).join('')}: ${i.message}`);
        throw new StatusError(422, 'Invalid', `${kind} is invalid: ${problems.join('; ')}`);
      }
      const caller = publicKinds.has(kind) ? undefined : await authenticate(req);
      const status = await handlers[kind](parsed.data as never, caller, req);
      sendJSON(res, 201, {
        apiVersion,
        kind,
        metadata: { ...(body.metadata?.name ? { name: body.metadata.name } : {}), creationTimestamp: new Date().toISOString() },
        spec: parsed.data,
        status,
      });
    } catch (err) {
      answerError(res, err, deps.logger, { api: 'auth', ...(kind ? { kind } : {}) });
    }
  };
}

/** Kinds anyone may create: they start a session. */
const publicKinds = new Set<Kind>(['Login', 'DeviceAuthorization']);

function requireCaller(caller: Caller | undefined): Caller {
  if (!caller) throw authenticationFailed();
  return caller;
}

/** The peer address, for password attempt limits (X-Forwarded-For is not trusted). */
function clientAddress(req: IncomingMessage): string | undefined {
  return req.socket.remoteAddress;
}

const methodNames = { password: 'a password', 'access-key': 'an access key', oidc: 'identity provider' } as const;

async function login(deps: AuthAPIDeps, spec: LoginSpec, address: string | undefined): Promise<LoginStatus> {
  let user: User | undefined;
  let method: keyof typeof methodNames;
  let session: { key: string; credential: Credential } | undefined;
  let accessKeyId: string | undefined;
  if (spec.code !== undefined || spec.deviceCode !== undefined) {
    method = 'oidc';
    const result = await loginWithProvider(deps.identity, spec);
    user = result.user;
    session = result;
  } else if (spec.accessKey !== undefined) {
    method = 'access-key';
    const credential = await deps.credentials.authenticate(spec.accessKey);
    user = credential?.kind === 'access-key' ? deps.hub.userByEmail(credential.email) : undefined;
    accessKeyId = credential?.id;
  } else {
    method = 'password';
    user = await checkPassword(deps, spec.email!, spec.password!, address);
  }
  if (!user) {
    deps.audit.info({ action: 'login', method, email: spec.email, result: 'denied' }, 'login denied');
    throw authenticationFailed();
  }
  // A session made with an access key ends when the key is revoked.
  const { key, credential } = session ?? (await deps.credentials.create('session', user, accessKeyId ? { accessKeyId } : {}));
  const identity = resolveIdentity(deps.hub, user.spec.email);
  const through = method === 'oidc' ? `${methodNames.oidc} ${spec.provider}` : methodNames[method];
  deps.audit.info({ action: 'login', method, ...(method === 'oidc' ? { provider: spec.provider } : {}), user: identity.email, groups: identity.groups, session: credential.id, result: 'allowed' }, 'login');
  deps.events.record(user, 'Normal', 'LoggedIn', `${identity.email} logged in with ${through}`);
  return {
    sessionKey: key,
    expirationTimestamp: credential.expiresAt.toISOString(),
    user: identity,
    ...(user.status?.passwordChangeRequired ? { passwordChangeRequired: true } : {}),
  };
}

/** The User whose password this is, or undefined; refuses (429) while the email or address is locked. */
async function checkPassword(deps: AuthAPIDeps, email: string, password: string, address: string | undefined): Promise<User | undefined> {
  const lock = deps.throttle.locked(email, address);
  if (lock) {
    deps.audit.info({ action: 'login', method: 'password', email, address, result: 'locked' }, 'login refused: locked');
    throw lockedOut(lock, email, address);
  }
  const user = deps.hub.userByEmail(email);
  const ref = user?.spec.passwordSecretRef;
  const hash = ref && !secretRefProblem({ kind: 'User', name: user!.metadata.name! }, ref.name) ? await deps.readSecret(ref.name, ref.key) : undefined;
  // Hash something even for an unknown user, so timing does not reveal who exists.
  const ok = await verifyPassword(password, hash ?? unknownUserHash);
  if (ok && hash) {
    deps.throttle.succeed(email);
    return user;
  }
  recordFailure(deps, email, address, user);
  return undefined;
}

// A valid hash of a random password: verifying against it costs what a real check costs.
const unknownUserHash = '$scrypt$ln=15,r=8,p=1$S2FkZEJ1Z2dlZFNhbHQ=$3QKuWDqE5E8cXQyM6f2rJ2oXkZ8w3Qm9zV8y7Hc6Tn0=';

async function tokenRequest(deps: AuthAPIDeps, spec: TokenRequestSpec, authenticated: Caller): Promise<TokenRequestStatus> {
  const { destination } = spec;
  if (destination === infraResource) {
    throw new StatusError(422, 'Invalid', `"${infraResource}" is Infra itself, not a destination; request a token for a cluster, e.g. production`);
  }
  requirePasswordChanged(deps, authenticated);
  await deps.verifier.ensureFresh(authenticated.credential);
  // Verification may have changed the user's groups: take them as they are now.
  const caller = authenticated.credential?.provider ? { ...authenticated, identity: resolveIdentity(deps.hub, authenticated.identity.email) } : authenticated;
  const grants = grantsOnDestination(deps.hub, caller.identity, destination);
  if (grants.length === 0) {
    deps.audit.info({ action: 'token', user: caller.identity.email, destination, result: 'denied' }, 'token refused: no grant');
    if (!deps.hub.destinations.get(destination)) {
      throw new StatusError(404, 'NotFound', `destination "${destination}" does not exist; run \`infra list\` to see the destinations you can reach`);
    }
    throw new StatusError(403, 'Forbidden', `${caller.identity.email} has no grant on destination "${destination}"; ask an Infra admin for a Grant with resource: ${destination}`);
  }
  const { token, expiresAt } = await deps.tokens.issue(caller.identity, destination);
  deps.audit.info({ action: 'token', user: caller.identity.email, groups: caller.identity.groups, destination, expiresAt: expiresAt.toISOString(), result: 'issued' }, 'token issued');
  return { token, expirationTimestamp: expiresAt.toISOString() };
}

async function accessReview(deps: AuthAPIDeps, caller: Caller): Promise<AccessReviewStatus> {
  const role = infraRole(deps.hub, caller.identity, deps.bootstrapAdmins);
  return {
    user: caller.identity,
    ...(role ? { infraRole: role } : {}),
    destinations: accessSummary(deps.hub, caller.identity),
  };
}

const defaultAccessKeyTtlMs = 30 * 86_400_000;

async function accessKey(deps: AuthAPIDeps, spec: AccessKeySpec, caller: Caller): Promise<AccessKeyStatus> {
  requirePasswordChanged(deps, caller);
  const email = spec.user ?? caller.identity.email;
  const forSelf = email.toLowerCase() === caller.identity.email.toLowerCase();
  if (!forSelf && infraRole(deps.hub, caller.identity, deps.bootstrapAdmins) !== 'admin') {
    throw new StatusError(403, 'Forbidden', `only an Infra admin (a Grant with role admin on resource infra) may create access keys for ${email}`);
  }
  const user = deps.hub.userByEmail(email);
  if (!user) throw new StatusError(404, 'NotFound', `no User has email ${email}; create the User first`);
  const lifetimeMs = spec.ttl ? parseDuration(spec.ttl)! : defaultAccessKeyTtlMs;
  const { key, credential } = await deps.credentials.create('access-key', user, { lifetimeMs, name: spec.name });
  deps.audit.info({ action: 'accesskey.created', user: email, by: caller.identity.email, name: spec.name, id: credential.id, expiresAt: credential.expiresAt.toISOString() }, 'access key created');
  deps.events.record(user, 'Normal', 'AccessKeyCreated', `access key ${spec.name} created by ${caller.identity.email}, expires ${credential.expiresAt.toISOString()}`);
  return { accessKey: key, expirationTimestamp: credential.expiresAt.toISOString(), user: email };
}

async function logout(deps: AuthAPIDeps, spec: { all?: boolean }, caller: Caller): Promise<LogoutStatus> {
  if (!caller.credential) {
    throw new StatusError(400, 'BadRequest', 'Logout ends a session of the public endpoint; this request carried none');
  }
  const revoked = spec.all ? await deps.credentials.revokeAllFor(caller.credential.userName) : (await deps.credentials.revoke(caller.credential), 1);
  deps.audit.info({ action: 'logout', user: caller.identity.email, all: spec.all ?? false, revoked }, 'logout');
  return { revoked };
}
