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
