// Access keys: the AccessKey create (a key shown once, for yourself or, as an Infra admin,
// for anyone), and beside it on the public door, listing and revoking them:
// GET /apis/auth.infrahq.com/v1alpha1/accesskeys[?user=EMAIL] and
// DELETE …/accesskeys/NAME[?user=EMAIL]. Your own keys, or anyone's for an Infra admin.
// A key lives at most accessKeys.maxLifetime and never beyond the session that made it;
// a session made with a key cannot make keys (a leaked key must not renew itself); a key
// for someone who logs in through an identity provider is vouched for by one of their IdP
// sessions, and revoked with it (credentials/store.ts).
import express, { type Request, type Response } from 'express';
import { apiVersion, type AccessKeySpec, type AccessKeyStatus } from '../../api/auth/v1alpha1/types.ts';
import type { User } from '../../api/v1alpha1/types.ts';
import { formatDuration, parseDuration } from '../../api/duration.ts';
import { StatusError } from '../../lib/status-error.ts';
import { infraRole } from '../access.ts';
import type { Authenticator, Caller } from '../http/caller.ts';
import type { AuthAPIDeps } from './deps.ts';
import { answerError, authenticationFailed } from '../http/status.ts';
import { requirePasswordChanged } from './passwords.ts';

const defaultAccessKeyTtlMs = 30 * 86_400_000;

export async function accessKey(deps: AuthAPIDeps, spec: AccessKeySpec, caller: Caller): Promise<AccessKeyStatus> {
  requirePasswordChanged(deps, caller);
  if (caller.credential?.kind === 'access-key' || caller.credential?.accessKeyId !== undefined) {
    throw new StatusError(
      403,
      'Forbidden',
      'an access key cannot create access keys: log in as yourself (`infra login` with a password or identity provider) to create one',
    );
  }
  if (caller.credential?.loginMethod === 'device') {
    throw new StatusError(
      403,
      'Forbidden',
      `a session from the device flow cannot create access keys: log in through ${caller.credential.provider} with the browser (infra login --provider ${caller.credential.provider}, without --device), then create the key`,
    );
  }
  const email = spec.user ?? caller.identity.email;
  const forSelf = email.toLowerCase() === caller.identity.email.toLowerCase();
  if (!forSelf && infraRole(deps.hub, caller.identity, deps.bootstrapAdmins) !== 'admin') {
    throw new StatusError(403, 'Forbidden', `only an Infra admin (a Grant with role admin on resource infra) may create access keys for ${email}`);
  }
  const user = deps.hub.userByEmail(email);
  if (!user) throw new StatusError(404, 'NotFound', `no User has email ${email}; create the User first`);
  const { accessKeyMaxLifetimeMs } = deps.credentials.policy;
  const requestedMs = spec.ttl ? parseDuration(spec.ttl)! : Math.min(defaultAccessKeyTtlMs, accessKeyMaxLifetimeMs);
  if (requestedMs > accessKeyMaxLifetimeMs) {
    throw new StatusError(
      422,
      'Invalid',
      `ttl ${spec.ttl} is longer than the maximum access-key lifetime, ${formatDuration(accessKeyMaxLifetimeMs)} (accessKeys.maxLifetime); ask for ${formatDuration(accessKeyMaxLifetimeMs)} or less`,
    );
  }
  const now = new Date();
  const upstreamSession = vouchingSession(deps, user, forSelf ? caller : undefined, now);
  const expiries = [now.getTime() + requestedMs, caller.credential?.expiresAt.getTime(), upstreamSession?.expiresAt.getTime()];
  const lifetimeMs = Math.min(...expiries.filter((t) => t !== undefined)) - now.getTime();
  const { key, credential } = await deps.credentials.create('access-key', user, {
    lifetimeMs,
    name: spec.name,
    now,
    ...(upstreamSession ? { upstreamSession } : {}),
  });
  deps.audit.info(
    { action: 'accesskey.created', user: email, by: caller.identity.email, name: spec.name, id: credential.id, expiresAt: credential.expiresAt.toISOString() },
    'access key created',
  );
  deps.events.record(
    user,
    'Normal',
    'AccessKeyCreated',
    `access key ${spec.name} created (the audit log names by whom), expires ${credential.expiresAt.toISOString()}`,
  );
  return { accessKey: key, expirationTimestamp: credential.expiresAt.toISOString(), user: email };
}

/**
 * The IdP session that will vouch for a new key of this user: the caller's own, or for a
 * key made by someone else (or through the hub's door) the user's newest one. A User who
 * logs in through a provider but has no live session there cannot get a key.
 */
function vouchingSession(deps: AuthAPIDeps, user: User, self: Caller | undefined, now: Date): { id: string; provider: string; expiresAt: Date } | undefined {
  const own = self?.credential;
  if (own?.provider && own.upstreamSession) return { id: own.upstreamSession, provider: own.provider, expiresAt: own.expiresAt };
  const provider = user.status?.provider;
  if (!provider) return undefined;
  const newest = deps.credentials.newestUpstreamSessionOf(user.metadata.name!, now);
  if (newest) return newest;
  throw new StatusError(
    409,
    'Conflict',
    `${user.spec.email} logs in through identity provider ${provider}, which must keep vouching for their access keys, and has no live session there; they must run \`infra login\` first`,
  );
}

export function accessKeysAPI(deps: AuthAPIDeps, authenticate: Authenticator): express.Router {
  const router = express.Router();
  const base = `/apis/${apiVersion}/accesskeys`;

  /** The User whose keys the request is about: the caller, or `?user=` for an Infra admin. */
  const owner = async (req: Request): Promise<{ caller: Caller; email: string; userName: string }> => {
    const caller = await authenticate(req);
    if (!caller) throw authenticationFailed();
    const email = typeof req.query['user'] === 'string' && req.query['user'] !== '' ? req.query['user'] : caller.identity.email;
    if (email.toLowerCase() !== caller.identity.email.toLowerCase() && infraRole(deps.hub, caller.identity, deps.bootstrapAdmins) !== 'admin') {
      throw new StatusError(403, 'Forbidden', `only an Infra admin (a Grant with role admin on resource infra) may see or revoke the access keys of ${email}`);
    }
    const user = deps.hub.userByEmail(email);
    if (!user) throw new StatusError(404, 'NotFound', `no User has email ${email}`);
    return { caller, email, userName: user.metadata.name! };
  };

  const handle = (work: (req: Request, res: Response) => Promise<void>) => async (req: Request, res: Response) => {
    try {
      await work(req, res);
    } catch (err) {
      answerError(res, err, deps.logger, { api: 'accesskeys' });
    }
  };

  router.get(
    base,
    handle(async (req, res) => {
      const { email, userName } = await owner(req);
      const items = deps.credentials
        .accessKeysOf(userName)
        .map((k) => ({ name: k.name, user: email, expirationTimestamp: k.expiresAt, lastUsedTimestamp: k.lastUsedAt }));
      res.json({ apiVersion, kind: 'AccessKeyList', items });
    }),
  );

  router.delete(
    `${base}/:name`,
    handle(async (req, res) => {
      const { caller, email, userName } = await owner(req);
      const name = String(req.params['name']);
      const revoked = await deps.credentials.revokeAccessKeys(userName, name);
      if (revoked === 0) throw new StatusError(404, 'NotFound', `${email} has no access key named ${name}; \`infra keys list\` shows them`);
      deps.audit.info({ action: 'accesskey.revoked', user: email, by: caller.identity.email, name, revoked }, 'access key revoked');
      res.json({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name, kind: 'accesskeys' } });
    }),
  );
  return router;
}
