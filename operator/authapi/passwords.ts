// Built-in users' passwords through the auth API: an admin's PasswordReset sets a one-time
// password that must be changed at the next login; the user's PasswordChange sets their
// own. Wrong passwords count toward the same lockout as logins (login/password.ts). Until a
// one-time password is changed, requirePasswordChanged (which TokenRequest and AccessKey
// call too) refuses the session's other requests.
import type { PasswordChangeSpec, PasswordChangeStatus, PasswordResetSpec, PasswordResetStatus } from '../../api/auth/v1alpha1/types.ts';
import type { User } from '../../api/v1alpha1/types.ts';
import { StatusError } from '../../lib/status-error.ts';
import { infraRole } from '../access.ts';
import type { Caller } from '../http/caller.ts';
import type { AuthAPIDeps } from './deps.ts';
import { oneTimePassword, verifyPassword } from '../credentials/passwords.ts';
import { throttledCheck } from '../login/password.ts';
import { secretRefProblem } from '../secret-refs.ts';

export const changePasswordFirst = 'you must change your one-time password first: run `infra login` again (or `infra password`)';

/** While a one-time password is unchanged, a session may only change it, review access, or log out. */
export function requirePasswordChanged(deps: AuthAPIDeps, caller: Caller): void {
  if (deps.hub.userByEmail(caller.identity.email)?.status?.passwordChangeRequired) throw new StatusError(403, 'Forbidden', changePasswordFirst);
}

export async function passwordReset(deps: AuthAPIDeps, spec: PasswordResetSpec, caller: Caller): Promise<PasswordResetStatus> {
  requirePasswordChanged(deps, caller);
  if (infraRole(deps.hub, caller.identity, deps.bootstrapAdmins) !== 'admin') {
    throw new StatusError(
      403,
      'Forbidden',
      `only an Infra admin (a Grant with role admin on resource infra) may reset passwords; ${caller.identity.email} is not one`,
    );
  }
  const user = deps.hub.userByEmail(spec.user);
  if (!user) throw new StatusError(404, 'NotFound', `no User has email ${spec.user}; create the User first (infra users add ${spec.user})`);
  const password = oneTimePassword();
  const updated = await storePassword(deps, user, password);
  await deps.identity.users.patchStatus(updated, { passwordChangeRequired: true });
  const revoked = await deps.credentials.revokeSessionsOf(user.metadata.name!);
  deps.audit.info({ action: 'password.reset', user: user.spec.email, by: caller.identity.email, revokedSessions: revoked }, 'one-time password set');
  deps.events.record(user, 'Normal', 'PasswordReset', `an Infra admin set a one-time password (the audit log names who); ${revoked} session(s) revoked`);
  return { user: user.spec.email, oneTimePassword: password };
}

export async function passwordChange(deps: AuthAPIDeps, spec: PasswordChangeSpec, caller: Caller, address: string | undefined): Promise<PasswordChangeStatus> {
  const email = caller.identity.email;
  const user = deps.hub.userByEmail(email);
  const ref = user?.spec.passwordSecretRef;
  if (!user || !ref)
    throw new StatusError(400, 'BadRequest', `${email} has no Infra password: people who log in through an identity provider change their password there`);
  const current = await throttledCheck(deps, 'password.change', email, address, user, async () => {
    const hash = secretRefProblem({ kind: 'User', name: user.metadata.name! }, ref.name) ? undefined : await deps.readSecret(ref.name, ref.key);
    return hash !== undefined && (await verifyPassword(spec.currentPassword, hash));
  });
  if (!current) {
    deps.audit.info({ action: 'password.change', user: email, result: 'denied' }, 'password change refused: wrong current password');
    throw new StatusError(403, 'Forbidden', 'the current password is wrong');
  }
  const updated = await storePassword(deps, user, spec.newPassword);
  if (updated.status?.passwordChangeRequired) await deps.identity.users.patchStatus(updated, { passwordChangeRequired: null });
  const revoked = await deps.credentials.revokeSessionsOf(user.metadata.name!, caller.credential?.id);
  deps.audit.info({ action: 'password.change', user: email, result: 'changed', revokedSessions: revoked }, 'password changed');
  deps.events.record(user, 'Normal', 'PasswordChanged', `the user changed their password; ${revoked} other session(s) revoked`);
  return { user: email };
}

/** Writes the hash to the user's own Secret and points the User at it. */
async function storePassword(deps: AuthAPIDeps, user: User, password: string): Promise<User> {
  const ref = await deps.passwords.write(user, password);
  return deps.identity.users.setPasswordRef(user, ref);
}
