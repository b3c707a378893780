// The auth API's creates (auth.infrahq.com: TokenRequest, Login, AccessKey, …), one set
// of handlers behind two doors: the hub's aggregation layer (identity from verified
// X-Remote-* headers) and the operator's public endpoint (identity from a bearer session
// or access key). This module checks each request and hands it to its kind's module;
// every answer is a Kubernetes object or a Kubernetes Status, so kubectl and client
// libraries understand it, and every answer has its audit line (http/audit.ts).
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  apiVersion,
  group,
  kinds,
  version,
  type AccessKeySpec,
  type DeviceAuthorizationSpec,
  type Kind,
  type LoginSpec,
  type PasswordChangeSpec,
  type PasswordResetSpec,
  type TokenRequestSpec,
} from '../../api/auth/v1alpha1/types.ts';
import { StatusError } from '../../lib/status-error.ts';
import { auditAnswered, type AuditNote } from '../http/audit.ts';
import { readJSONBody } from '../http/body.ts';
import type { Authenticator, Caller, ClientAddress } from '../http/caller.ts';
import { answerError, authenticationFailed, sendJSON } from '../http/status.ts';
import { login } from '../login/login.ts';
import { startDeviceLogin } from '../login/provider.ts';
import { accessKey } from './access-keys.ts';
import { accessReview } from './access-review.ts';
import type { AuthAPIDeps } from './deps.ts';
import { logout } from './logout.ts';
import { passwordChange, passwordReset } from './passwords.ts';
import { tokenRequest } from './token-request.ts';

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
export function authCreates(deps: AuthAPIDeps, authenticate: Authenticator, clientAddress: ClientAddress, served: ReadonlySet<Kind> = allKinds): CreateHandler {
  const handlers: Record<Kind, (spec: never, caller: Caller | undefined, req: IncomingMessage, note: AuditNote) => Promise<unknown>> = {
    Login: (spec: LoginSpec, _caller, req, note) => login(deps, spec, clientAddress(req), note),
    TokenRequest: (spec: TokenRequestSpec, caller, _req, note) => tokenRequest(deps, spec, requireCaller(caller), note),
    AccessReview: (_spec, caller) => accessReview(deps, requireCaller(caller)),
    Logout: (spec: { all?: boolean }, caller) => logout(deps, spec, requireCaller(caller)),
    AccessKey: (spec: AccessKeySpec, caller) => accessKey(deps, spec, requireCaller(caller)),
    PasswordReset: (spec: PasswordResetSpec, caller) => passwordReset(deps, spec, requireCaller(caller)),
    PasswordChange: (spec: PasswordChangeSpec, caller, req) => passwordChange(deps, spec, requireCaller(caller), clientAddress(req)),
    DeviceAuthorization: (spec: DeviceAuthorizationSpec) => startDeviceLogin(deps.identity, spec.provider),
  };
  const kindByPlural = new Map<string, Kind>(Object.entries(kinds).map(([kind, { plural }]) => [plural, kind as Kind]));

  return async (req, res, plural) => {
    const received = new Date();
    const kind = kindByPlural.get(plural);
    const note: AuditNote = {};
    let caller: Caller | undefined;
    try {
      if (!kind) throw new StatusError(404, 'NotFound', `the server could not find the requested resource ${plural}.${group}`);
      if (dryRunRequested(req)) {
        throw new StatusError(
          400,
          'BadRequest',
          `dry run is not supported for ${kind}: an auth request cannot be tried without its effect (a session, token, key or password); send it without --dry-run=server (dryRun)`,
        );
      }
      if (!served.has(kind)) throw notServedHere(kind, served);
      const body = (await readJSONBody(req)) as { apiVersion?: unknown; kind?: unknown; metadata?: { name?: string }; spec?: unknown };
      if (typeof body !== 'object' || body === null || Array.isArray(body))
        throw new StatusError(400, 'BadRequest', `the request body must be a ${kind} object`);
      if (body.apiVersion !== apiVersion || body.kind !== kind) {
        throw new StatusError(
          400,
          'BadRequest',
          `expected apiVersion ${apiVersion} and kind ${kind} for ${plural}, got ${String(body.apiVersion)} ${String(body.kind)}`,
        );
      }
      const parsed = kinds[kind].spec.safeParse(body.spec ?? {});
      if (!parsed.success) {
        const problems = parsed.error.issues.map((i) => `spec${i.path.map((p) => `.${String(p)}`).join('')}: ${i.message}`);
        throw new StatusError(422, 'Invalid', `${kind} is invalid: ${problems.join('; ')}`);
      }
      caller = publicKinds.has(kind) ? undefined : await authenticate(req);
      const status = await handlers[kind](parsed.data as never, caller, req, note);
      sendJSON(res, 201, {
        apiVersion,
        kind,
        metadata: { ...(body.metadata?.name ? { name: body.metadata.name } : {}), creationTimestamp: new Date().toISOString() },
        spec: echoedSpec(kind, parsed.data),
        status,
      });
    } catch (err) {
      answerError(res, err, deps.logger, { api: 'auth', ...(kind ? { kind } : {}) });
    }
    auditAnswered(deps.auditTrail, {
      req,
      received,
      code: res.statusCode,
      verb: 'create',
      objectRef: { resource: plural, apiGroup: group, apiVersion: version },
      clientAddress: clientAddress(req),
      caller,
      note,
    });
  };
}

const allKinds: ReadonlySet<Kind> = new Set(Object.keys(kinds) as Kind[]);

/**
 * What the hub's aggregation layer may send: a hub identity asks for a token and what it
 * may reach. Logins, keys, passwords and logouts make or end Infra credentials, which
 * belong to the public door, where Infra itself authenticates the caller.
 */
export const aggregatedKinds: ReadonlySet<Kind> = new Set<Kind>(['TokenRequest', 'AccessReview']);

function notServedHere(kind: Kind, served: ReadonlySet<Kind>): StatusError {
  return new StatusError(
    403,
    'Forbidden',
    `${kind} is not served through the hub's aggregation layer, which serves only ${[...served].join(' and ')}: use the infra CLI (infra login, infra logout, infra keys add, infra password), which sends it to Infra's public door`,
  );
}

/** `?dryRun=All` (kubectl --dry-run=server): refused, as no auth request can run without its effect. */
function dryRunRequested(req: IncomingMessage): boolean {
  const query = req.url?.indexOf('?') ?? -1;
  return query >= 0 && new URLSearchParams(req.url!.slice(query + 1)).has('dryRun');
}

/** Spec fields that are credentials: an answer never echoes them (it may be logged, shown or kept). */
export const secretSpecFields: Readonly<Record<Kind, readonly string[]>> = {
  Login: ['password', 'accessKey', 'code', 'codeVerifier', 'deviceCode'],
  PasswordChange: ['currentPassword', 'newPassword'],
  TokenRequest: [],
  AccessReview: [],
  Logout: [],
  AccessKey: [],
  PasswordReset: [],
  DeviceAuthorization: [],
};

/** The request's spec as the answer repeats it: without its secret fields. */
export function echoedSpec(kind: Kind, spec: Record<string, unknown>): Record<string, unknown> {
  const secret = secretSpecFields[kind];
  return Object.fromEntries(Object.entries(spec).filter(([field]) => !secret.includes(field)));
}

/** Kinds anyone may create: they start a session. */
const publicKinds = new Set<Kind>(['Login', 'DeviceAuthorization']);

function requireCaller(caller: Caller | undefined): Caller {
  if (!caller) throw authenticationFailed();
  return caller;
}
