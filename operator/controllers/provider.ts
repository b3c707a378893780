// Provider controller: checks that the IdP's OIDC discovery answers and that the client
// secret the Provider references exists, and says plainly what is wrong when not.
import type { Provider } from '../../api/v1alpha1/types.ts';
import type { Controller } from '../../lib/controller/controller.ts';
import { errorMessage } from '../../lib/controller/informer.ts';
import { conditionsCurrent, mergeConditions, type ConditionInput } from '../../lib/conditions.ts';
import { kindController, type ControllerContext } from './context.ts';

const recheckIntervalMs = 5 * 60_000;
const discoveryTimeoutMs = 5_000;

export type DiscoveryCheck = (issuer: string) => Promise<ConditionInput>;

/** Fetches the issuer's discovery document and checks it names the same issuer. */
export const checkDiscovery: DiscoveryCheck = async (issuer) => {
  const url = `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(discoveryTimeoutMs), redirect: 'error' });
    if (!res.ok) return { type: 'DiscoveryReachable', status: 'False', reason: 'DiscoveryFailed', message: `${url} answered HTTP ${res.status}; check spec.issuer` };
    const doc = (await res.json()) as { issuer?: string };
    if (doc.issuer !== issuer) {
      return { type: 'DiscoveryReachable', status: 'False', reason: 'IssuerMismatch', message: `${url} says its issuer is ${doc.issuer ?? '(none)'}, not ${issuer}; set spec.issuer to exactly that` };
    }
    return { type: 'DiscoveryReachable', status: 'True', reason: 'Discovered', message: `OIDC discovery at ${url} answers` };
  } catch (err) {
    const cause = (err as { cause?: unknown }).cause;
    return { type: 'DiscoveryReachable', status: 'False', reason: 'Unreachable', message: `cannot reach ${url}: ${errorMessage(cause ?? err)}` };
  }
};

async function secretCondition(provider: Provider, readSecret: ControllerContext['readSecret']): Promise<ConditionInput> {
  const { name, key } = provider.spec.clientSecretRef;
  const value = await readSecret(name, key);
  if (value === undefined || value === '') {
    return { type: 'ClientSecretFound', status: 'False', reason: 'SecretNotFound', message: `Secret ${name} in the operator's namespace has no key ${key}; create it: kubectl -n <operator namespace> create secret generic ${name} --from-literal=${key}=<client secret>` };
  }
  return { type: 'ClientSecretFound', status: 'True', reason: 'SecretFound', message: `client secret read from Secret ${name}, key ${key}` };
}

export function providerController(ctx: ControllerContext, discover: DiscoveryCheck = checkDiscovery): Controller {
  const { hub, applier } = ctx;
  return kindController(ctx, 'provider', hub.providers, async (name) => {
    const provider = hub.providers.get(name);
    if (!provider) return;
    const [discovery, secret] = await Promise.all([discover(provider.spec.issuer), secretCondition(provider, ctx.readSecret)]);
    const failing = [discovery, secret].filter((c) => c.status !== 'True');
    const ready: ConditionInput = failing.length === 0
      ? { type: 'Ready', status: 'True', reason: 'Ready', message: 'discovery answers and the client secret is present' }
      : { type: 'Ready', status: 'False', reason: failing[0]!.reason, message: failing.map((c) => c.message).join('; ') };
    const conditions = [ready, discovery, secret];
    const generation = provider.metadata.generation;
    const now = ctx.now();
    const lastSync = Date.parse(provider.status?.lastSyncAt ?? '') || 0;
    if (!conditionsCurrent(provider.status?.conditions, conditions, generation) || now.getTime() - lastSync > recheckIntervalMs / 2) {
      await applier.applyStatus('Provider', name, {
        observedGeneration: generation,
        lastSyncAt: now.toISOString(),
        conditions: mergeConditions(provider.status?.conditions, conditions, generation, now),
      });
    }
    return { requeueAfterMs: recheckIntervalMs };
  });
}
