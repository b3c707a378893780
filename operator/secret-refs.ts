// Which Secrets in the operator's namespace a Provider or User may point at. The same
// namespace holds what the operator keeps for itself — signing keys, CAs, sessions, access
// keys, the session encryption key, other users' password hashes — all named infra-*. A
// reference to one of those would make the operator hand it out (a Provider's "client
// secret" is sent to its issuer, which the Provider names) or trust it (a password hash),
// so the only infra-* Secret an object may use is the one the operator made for it.
import { createHash } from 'node:crypto';

export type SecretOwner = { kind: 'Provider' | 'User'; name: string };

const operatorPrefix = 'infra-';

export const providerSecretName = (provider: string) => `infra-provider-${provider}`;

/** The Secret that holds a built-in user's password hash when the operator sets one (credentials/password-secrets.ts). */
export function passwordSecretName(userName: string): string {
  const name = `infra-password-${userName}`;
  return name.length <= 253 ? name : `infra-password-${createHash('sha256').update(userName).digest('hex').slice(0, 32)}`;
}

function ownSecret(owner: SecretOwner): string {
  return owner.kind === 'Provider' ? providerSecretName(owner.name) : passwordSecretName(owner.name);
}

/** Why the owner may not use this Secret, or undefined when it may. */
export function secretRefProblem(owner: SecretOwner, secretName: string): string | undefined {
  if (!secretName.startsWith(operatorPrefix) || secretName === ownSecret(owner)) return undefined;
  return `${owner.kind} ${owner.name} may not use Secret ${secretName}: Secrets named ${operatorPrefix}* belong to the operator; put the value in a Secret of your own, e.g. ${owner.name}-${owner.kind === 'Provider' ? 'client-secret' : 'password'}`;
}
