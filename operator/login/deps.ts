// What logging in works with, whichever way: the hub's Users, the credential store that
// makes the session, password Secrets and the lockout, and the identity providers.
import type { Logger } from '../../lib/log.ts';
import type { LoginThrottle } from '../credentials/lockout.ts';
import type { CredentialStore } from '../credentials/store.ts';
import type { EventRecorder } from '../events.ts';
import type { Hub } from '../hub.ts';
import type { IdentityDeps } from '../identity/deps.ts';

export interface LoginDeps {
  hub: Hub;
  credentials: CredentialStore;
  readSecret: (name: string, key: string) => Promise<string | undefined>;
  events: EventRecorder;
  /** Audit trail: who did what, when. */
  audit: Logger;
  /** Logins through identity providers and the Users they make. */
  identity: IdentityDeps;
  /** Password attempt limits. */
  throttle: LoginThrottle;
}
