// Where a password is checked: a Login with email and password, against the scrypt hash in
// the Secret that User.spec.passwordSecretRef names, within the lockout's limits. Wrong
// passwords count toward a lock on the email and on the client address, here and in
// PasswordChange (authapi/passwords.ts), which checks the current password the same way.
import type { User } from '../../api/v1alpha1/types.ts';
import type { Lock } from '../credentials/lockout.ts';
import { verifyPassword } from '../credentials/passwords.ts';
import { TooManyRequests } from '../http/status.ts';
import { secretRefProblem } from '../secret-refs.ts';
import type { LoginDeps } from './deps.ts';

/** The User whose password this is, or undefined; refuses (429) while the email or address is locked. */
export async function checkPassword(deps: LoginDeps, email: string, password: string, address: string | undefined): Promise<User | undefined> {
  const lock = deps.throttle.locked(email, address);
  if (lock) {
    deps.audit.info({ action: 'login', method: 'password', email, address, result: 'locked' }, 'login refused: locked');
    throw lockedOut(lock, email, address);
  }
  const user = deps.hub.userByEmail(email);
  const ref = user?.spec.passwordSecretRef;
  const hash = ref && !secretRefProblem({ kind: 'User', name: user.metadata.name! }, ref.name) ? await deps.readSecret(ref.name, ref.key) : undefined;
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

/** The 429 for a locked login, naming what is locked and until when. */
export function lockedOut(lock: Lock, email: string, address: string | undefined, now = Date.now()): TooManyRequests {
  const seconds = Math.max(1, Math.ceil((lock.until.getTime() - now) / 1000));
  const who = lock.key === 'email' ? email : `this address (${address})`;
  return new TooManyRequests(
    `too many failed password attempts for ${who}: try again in ${Math.ceil(seconds / 60)} minute(s), after ${lock.until.toISOString()}`,
    seconds,
  );
}

/** Counts a wrong password; when it starts a lock, records it (audit line, Event on the User). */
export function recordFailure(
  deps: Pick<LoginDeps, 'throttle' | 'audit' | 'events'>,
  email: string,
  address: string | undefined,
  user: User | undefined,
): void {
  const lock = deps.throttle.fail(email, address);
  if (!lock) return;
  deps.audit.info({ action: 'login.locked', email, address, lockedBy: lock.key, until: lock.until.toISOString() }, 'password attempts locked');
  if (user)
    deps.events.record(
      user,
      'Warning',
      'LoginLocked',
      `too many failed password attempts ${lock.key === 'email' ? 'for this user' : 'from one client address (the audit log names it)'}: locked until ${lock.until.toISOString()}`,
    );
}
