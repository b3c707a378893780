// Where a password is checked: a Login with email and password, against the scrypt hash in
// the Secret that User.spec.passwordSecretRef names, within the lockout's limits. Wrong
// passwords count toward a lock on the email and on the client address, here and in
// PasswordChange (authapi/passwords.ts), which checks the current password the same way.
import { randomBytes } from 'node:crypto';
import type { User } from '../../api/v1alpha1/types.ts';
import type { Lock } from '../credentials/lockout.ts';
import { hashPassword, verifyPassword } from '../credentials/passwords.ts';
import { TooManyRequests } from '../http/status.ts';
import { secretRefProblem } from '../secret-refs.ts';
import type { LoginDeps } from './deps.ts';

/** The User whose password this is, or undefined; refuses (429) while the email or address is locked. */
export async function checkPassword(deps: LoginDeps, email: string, password: string, address: string | undefined): Promise<User | undefined> {
  const user = deps.hub.userByEmail(email);
  const ok = await throttledCheck(deps, 'login', email, address, user, async () => {
    const ref = user?.spec.passwordSecretRef;
    const hash = ref && !secretRefProblem({ kind: 'User', name: user.metadata.name! }, ref.name) ? await deps.readSecret(ref.name, ref.key) : undefined;
    // Hash something even for an unknown user, so timing does not reveal who exists.
    const matches = await verifyPassword(password, hash ?? (await unknownUserHash()));
    return matches && hash !== undefined;
  });
  return ok ? user : undefined;
}

/**
 * One password attempt against the lockout, for every request that checks a password:
 * refused (429) while the email or address is locked; reserved before the slow check, so
 * attempts sent at once cannot all pass a lock that only their failures would start;
 * then recorded as a success or a failure.
 */
export async function throttledCheck(
  deps: Pick<LoginDeps, 'throttle' | 'audit' | 'events'>,
  action: string,
  email: string,
  address: string | undefined,
  user: User | undefined,
  check: () => Promise<boolean>,
): Promise<boolean> {
  const lock = deps.throttle.reserve(email, address);
  if (lock) {
    deps.audit.info({ action, method: 'password', email, address, result: 'locked' }, `${action} refused: locked`);
    throw lockedOut(lock, email, address);
  }
  let ok: boolean;
  try {
    ok = await check();
  } finally {
    deps.throttle.release(email, address);
  }
  if (ok) deps.throttle.succeed(email);
  else recordFailure(deps, email, address, user);
  return ok;
}

// A hash of a random password at the current parameters, made once: verifying against it
// costs what a real check costs.
let unknownUser: Promise<string> | undefined;
const unknownUserHash = () => (unknownUser ??= hashPassword(randomBytes(24).toString('base64')));

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
