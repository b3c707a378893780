// Who sent a request, as every API of the operator sees it, and the authenticators that
// tell (frontend/authenticate.ts has the two doors' own).
import type { IncomingMessage } from 'node:http';
import type { Identity } from '../access.ts';
import type { Credential } from '../credentials/store.ts';

export interface Caller {
  identity: Identity;
  /** The session or access key the caller presented (public door only). */
  credential?: Credential;
}

export type Authenticator = (req: IncomingMessage) => Promise<Caller | undefined>;

/**
 * What identifies the client that sent a request, for limits that count per client: its
 * address at the public door (frontend/client-address.ts), the user the hub's front proxy
 * vouches for at the aggregated door, where every request comes from the kube-apiserver.
 */
export type ClientAddress = (req: IncomingMessage) => string;
