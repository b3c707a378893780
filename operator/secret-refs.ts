// Which Secrets in the operator's namespace a Provider or User may point at. The same
// namespace holds what the operator keeps for itself — signing keys, CAs, sessions, access
// keys, the session encryption key, other users' password hashes — all named infra-*. A
// reference to one of those would make the operator hand it out (a Provider's "client
// secret" is sent to its issuer, which the Provider names) or trust it (a password hash),
// so the only infra-* Secret an object may use is the one the operator made for it.
//
// A Provider's Secret must also say it belongs to that Provider and its issuer: whoever
// may write Providers (an Infra admin, through the management API) need not be allowed to
// read Secrets, so without this binding they could point a Provider at another Provider's
// client secret or a Google service-account key, or at an issuer they run, and have the
// operator send the value there.
import { createHash } from 'node:crypto';
import type { Provider } from '../api/v1alpha1/types.ts';

export type SecretOwner = { kind: 'Provider' | 'User'; name: string };

/** The label that binds a Secret to the one Provider that may use it. */
export const providerLabel = 'infrahq.com/provider';
/** The annotation that names the only issuer a Provider Secret's values may be sent to. */
export const issuerAnnotation = 'infrahq.com/issuer';

const operatorPrefix = 'infra-';

/** Whether a Secret is named as the operator's own are (infra-*), so nothing configured may point at it. */
export const isOperatorSecretName = (name: string) => name.startsWith(operatorPrefix);

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
  if (!isOperatorSecretName(secretName) || secretName === ownSecret(owner)) return undefined;
  return `${owner.kind} ${owner.name} may not use Secret ${secretName}: Secrets named ${operatorPrefix}* belong to the operator; put the value in a Secret of your own, e.g. ${owner.name}-${owner.kind === 'Provider' ? 'client-secret' : 'password'}`;
}

/** A Secret as the operator reads it: its labels, annotations and decoded data. */
export interface StoredSecret {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  data: Record<string, string>;
}

export type ReadStoredSecret = (name: string) => Promise<StoredSecret | undefined>;

/** The labels and annotations that bind a Secret to a Provider and its issuer. */
export function providerSecretBinding(provider: string, issuer: string): { labels: Record<string, string>; annotations: Record<string, string> } {
  return { labels: { [providerLabel]: provider }, annotations: { [issuerAnnotation]: issuer } };
}

const sameIssuer = (a: string | undefined, b: string) => a !== undefined && a.replace(/\/+$/, '') === b.replace(/\/+$/, '');

/** Why a Provider may not send this Secret's values to its issuer, or undefined when it may. */
export function providerSecretProblem(provider: Provider, secretName: string, secret: Pick<StoredSecret, 'labels' | 'annotations'>): string | undefined {
  const name = provider.metadata.name!;
  const { issuer } = provider.spec;
  const boundTo = secret.labels[providerLabel];
  const boundIssuer = secret.annotations[issuerAnnotation];
  if (boundTo === name && sameIssuer(boundIssuer, issuer)) return undefined;
  const found =
    boundTo !== name
      ? boundTo === undefined
        ? `it has no label ${providerLabel}`
        : `it is labelled ${providerLabel}=${boundTo}`
      : boundIssuer === undefined
        ? `it has no annotation ${issuerAnnotation}`
        : `it is annotated ${issuerAnnotation}=${boundIssuer}`;
  return (
    `Provider ${name} may not use Secret ${secretName}: ${found}, and a Provider only uses a Secret labelled ${providerLabel}=${name} ` +
    `and annotated ${issuerAnnotation}=${issuer}, so that its value goes to no other Provider or issuer. If this Secret is meant for ${name} at ${issuer}, ` +
    `run: kubectl -n <operator namespace> label --overwrite secret ${secretName} ${providerLabel}=${name} && ` +
    `kubectl -n <operator namespace> annotate --overwrite secret ${secretName} ${issuerAnnotation}=${issuer}`
  );
}

export type ProviderSecretValue = { value: string } | { reason: 'SecretNotAllowed' | 'SecretNotFound'; message: string };

/**
 * The value at a Provider's Secret reference, read only when the Provider may use that
 * Secret: never one of the operator's own, and only one bound to this Provider and issuer.
 */
export async function readProviderSecret(provider: Provider, ref: { name: string; key: string }, read: ReadStoredSecret): Promise<ProviderSecretValue> {
  const operatorOwned = secretRefProblem({ kind: 'Provider', name: provider.metadata.name! }, ref.name);
  if (operatorOwned) return { reason: 'SecretNotAllowed', message: operatorOwned };
  const secret = await read(ref.name);
  const value = secret?.data[ref.key];
  if (!secret || value === undefined || value === '') {
    return {
      reason: 'SecretNotFound',
      message:
        `Secret ${ref.name} in the operator's namespace has no key ${ref.key}; create it: kubectl -n <operator namespace> create secret generic ${ref.name} --from-literal=${ref.key}=<value>, ` +
        `then label it ${providerLabel}=${provider.metadata.name!} and annotate it ${issuerAnnotation}=${provider.spec.issuer}`,
    };
  }
  const unbound = providerSecretProblem(provider, ref.name, secret);
  return unbound ? { reason: 'SecretNotAllowed', message: unbound } : { value };
}
