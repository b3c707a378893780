// Logout: ends the session the caller presented on the public door, or with `all` every
// session and access key of theirs.
import type { LogoutStatus } from '../../api/auth/v1alpha1/types.ts';
import { StatusError } from '../../lib/status-error.ts';
import type { Caller } from '../http/caller.ts';
import type { AuthAPIDeps } from './deps.ts';

export async function logout(deps: AuthAPIDeps, spec: { all?: boolean }, caller: Caller): Promise<LogoutStatus> {
  if (!caller.credential) {
    throw new StatusError(400, 'BadRequest', 'Logout ends a session of the public endpoint; this request carried none');
  }
  const revoked = spec.all ? await deps.credentials.revokeAllFor(caller.credential.userName) : (await deps.credentials.revoke(caller.credential), 1);
  deps.audit.info({ action: 'logout', user: caller.identity.email, all: spec.all ?? false, revoked }, 'logout');
  return { revoked };
}
