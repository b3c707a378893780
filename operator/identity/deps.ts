// What logins through identity providers and their upstream verification work with.
import type { Logger } from '../../lib/log.ts';
import type { EventRecorder } from '../events.ts';
import type { CredentialStore } from '../credentials/store.ts';
import type { Hub } from '../hub.ts';
import type { ProviderClients, UpstreamSession } from './providers.ts';
import type { Sealer } from './sealing.ts';
import type { IdentityUsers } from './users.ts';

export interface IdentityDeps {
  hub: Hub;
  credentials: CredentialStore;
  clients: ProviderClients;
  users: IdentityUsers;
  sealer: Sealer;
  events: EventRecorder;
  audit: Logger;
  logger: Logger;
  /** How often each IdP session is re-verified upstream, and the most a token may wait for it. */
  verifyIntervalMs: number;
  /** While the provider is unreachable, sessions verified this long ago (beyond the interval) still get tokens. */
  outageGraceMs: number;
  now: () => Date;
}

export function sealSession(deps: Pick<IdentityDeps, 'sealer'>, session: UpstreamSession, secretName: string): Promise<Buffer> {
  return deps.sealer.seal(JSON.stringify(session), secretName);
}

export async function openSession(deps: Pick<IdentityDeps, 'sealer'>, sealed: Buffer, secretName: string): Promise<UpstreamSession> {
  return JSON.parse(await deps.sealer.open(sealed, secretName)) as UpstreamSession;
}
