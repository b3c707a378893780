// Provider controller: checks that the IdP's OIDC discovery answers, that the client
// secret the Provider references exists and that the IdP accepts it, and says plainly what
// is wrong when not. A deleted Provider's sessions are revoked.
import type { Provider } from '../../api/v1alpha1/types.ts';
import type { Controller } from '../../lib/controller/controller.ts';
import { errorMessage } from '../../lib/errors.ts';
import { conditionsCurrent, mergeConditions, readiness, type ConditionInput } from '../../lib/conditions.ts';
import type { CredentialStore } from '../credentials/store.ts';
import { UpstreamError } from '../identity/errors.ts';
import type { ProviderClients } from '../identity/providers.ts';
import { readProviderSecret, type ReadStoredSecret } from '../secret-refs.ts';
import { kindController, writeStatus, type ControllerContext } from './context.ts';

const defaultRecheckIntervalMs = 5 * 60_000;
const discoveryTimeoutMs = 5_000;
const secretRecheckIntervalMs = 5_000;

export type DiscoveryCheck = (issuer: string) => Promise<ConditionInput>;

/** Fetches the issuer's discovery document and checks it names the same issuer. */
export const checkDiscovery: DiscoveryCheck = async (issuer) => {
  const url = `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(discoveryTimeoutMs), redirect: 'error' });
    if (!res.ok)
      return { type: 'DiscoveryReachable', status: 'False', reason: 'DiscoveryFailed', message: `${url} answered HTTP ${res.status}; check spec.issuer` };
    const doc = (await res.json()) as { issuer?: string };
    if (doc.issuer !== issuer) {
      return {
        type: 'DiscoveryReachable',
        status: 'False',
        reason: 'IssuerMismatch',
        message: `${url} says its issuer is ${doc.issuer ?? '(none)'}, not ${issuer}; set spec.issuer to exactly that`,
      };
    }
    return { type: 'DiscoveryReachable', status: 'True', reason: 'Discovered', message: `OIDC discovery at ${url} answers` };
  } catch (err) {
    const cause = (err as { cause?: unknown }).cause;
    return { type: 'DiscoveryReachable', status: 'False', reason: 'Unreachable', message: `cannot reach ${url}: ${errorMessage(cause ?? err)}` };
  }
};

export async function secretCondition(provider: Provider, read: ReadStoredSecret): Promise<ConditionInput> {
  const { name, key } = provider.spec.clientSecretRef;
  const secret = await readProviderSecret(provider, provider.spec.clientSecretRef, read);
  if ('reason' in secret) return { type: 'ClientSecretFound', status: 'False', reason: secret.reason, message: secret.message };
  return { type: 'ClientSecretFound', status: 'True', reason: 'SecretFound', message: `client secret read from Secret ${name}, key ${key}` };
}

/** Whether the IdP accepts the client ID and secret; only asked once discovery and the secret are there. */
export async function credentialsCondition(provider: Provider, clients: ProviderClients): Promise<ConditionInput> {
  try {
    await clients.checkCredentials(provider);
    return { type: 'CredentialsValid', status: 'True', reason: 'Accepted', message: 'the identity provider accepts the client ID and secret' };
  } catch (err) {
    if (err instanceof UpstreamError && err.problem === 'misconfigured')
      return { type: 'CredentialsValid', status: 'False', reason: 'InvalidClient', message: err.message };
    return { type: 'CredentialsValid', status: 'Unknown', reason: 'CheckFailed', message: `could not check the client credentials: ${errorMessage(err)}` };
  }
}

/** Ready from the three checks: False with every failing check's message, True only once the IdP accepts the client; pure, for tests. */
export function providerReady(discovery: ConditionInput, secret: ConditionInput, credentialsValid: ConditionInput): ConditionInput {
  const failing = [discovery, secret, credentialsValid].filter((c) => c.status === 'False');
  return failing.length > 0
    ? { type: 'Ready', status: 'False', reason: failing[0]!.reason, message: failing.map((c) => c.message).join('; ') }
    : credentialsValid.status === 'True'
      ? { type: 'Ready', status: 'True', reason: 'Ready', message: 'discovery answers and the identity provider accepts the client credentials' }
      : { type: 'Ready', status: 'Unknown', reason: credentialsValid.reason, message: credentialsValid.message };
}

/**
 * Every condition a Provider carries: Ready with kstatus's pair (Stalled while a check
 * fails, since a person must fix the issuer or the secret; Reconciling while the
 * credentials could not be checked yet), then the three checks; pure, for tests.
 */
export function providerConditions(discovery: ConditionInput, secret: ConditionInput, credentialsValid: ConditionInput): ConditionInput[] {
  const ready = providerReady(discovery, secret, credentialsValid);
  return [...readiness(ready, ready.status === 'False' ? 'stalled' : 'waiting'), discovery, secret, credentialsValid];
}

export interface ProviderControllerOptions {
  clients: ProviderClients;
  credentials: CredentialStore;
  /** How often each Provider is checked again (the operator's identity.verifyInterval). */
  recheckIntervalMs?: number;
  discover?: DiscoveryCheck;
}

export function providerController(ctx: ControllerContext, options: ProviderControllerOptions): Controller {
  const { hub } = ctx;
  const { clients, credentials, recheckIntervalMs = defaultRecheckIntervalMs, discover = checkDiscovery } = options;
  return kindController(
    ctx,
    'provider',
    hub.providers,
    async (name) => {
      const provider = hub.providers.get(name);
      if (!provider) {
        clients.forget(name);
        const revoked = await credentials.revokeProviderSessions(name);
        if (revoked > 0) ctx.audit.info({ action: 'provider.deleted', provider: name, revokedSessions: revoked }, 'provider deleted: its sessions revoked');
        return;
      }
      const [discovery, secret] = await Promise.all([discover(provider.spec.issuer), secretCondition(provider, ctx.readStoredSecret)]);
      const credentialsValid: ConditionInput =
        discovery.status === 'True' && secret.status === 'True'
          ? await credentialsCondition(provider, clients)
          : { type: 'CredentialsValid', status: 'Unknown', reason: 'NotChecked', message: 'checked once discovery answers and the client secret is found' };
      const conditions = providerConditions(discovery, secret, credentialsValid);
      const ready = conditions[0]!;
      const generation = provider.metadata.generation;
      const now = ctx.now();
      const lastSync = Date.parse(provider.status?.lastSyncAt ?? '') || 0;
      if (!conditionsCurrent(provider.status?.conditions, conditions, generation) || now.getTime() - lastSync > recheckIntervalMs / 2) {
        const written = await writeStatus(ctx, 'Provider', provider, {
          observedGeneration: generation,
          ...(ready.status === 'True' ? { lastSyncAt: now.toISOString() } : provider.status?.lastSyncAt ? { lastSyncAt: provider.status.lastSyncAt } : {}),
          conditions: mergeConditions(provider.status?.conditions, conditions, generation, now),
        });
        if (!written) return;
      }
      // A Secret made or bound after its Provider is picked up soon, not at the next recheck.
      return { requeueAfterMs: secret.status === 'True' ? recheckIntervalMs : Math.min(recheckIntervalMs, secretRecheckIntervalMs) };
    },
    () => credentials.sessionProviders(),
  );
}
