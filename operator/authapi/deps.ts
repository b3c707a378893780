// What the auth API's requests work with: what logging in needs (login/deps.ts), and
// the token issuer, the upstream verifier, the Secrets passwords are written to, and who
// the bootstrap admins are.
import type { AuditLog } from '../../lib/audit.ts';
import type { Logger } from '../../lib/log.ts';
import type { Identity } from '../access.ts';
import type { PasswordSecrets } from '../credentials/password-secrets.ts';
import type { Verifier } from '../identity/verification.ts';
import type { LoginDeps } from '../login/deps.ts';

export interface TokenIssuer {
  issue(identity: Identity, destination: string): Promise<{ token: string; expiresAt: Date; jti: string }>;
}

export interface AuthAPIDeps extends LoginDeps {
  tokens: TokenIssuer;
  bootstrapAdmins: readonly string[];
  logger: Logger;
  /** The audit.k8s.io Event of every request (http/audit.ts); `audit` has the operator's own detail. */
  auditTrail: AuditLog;
  /** Re-verifies IdP sessions upstream before tokens. */
  verifier: Verifier;
  /** Where passwords the operator sets are kept. */
  passwords: PasswordSecrets;
}
