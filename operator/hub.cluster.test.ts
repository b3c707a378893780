// The operator's caches against the real hub: a Grant written with `kubectl apply` is cached
// without kubectl's last-applied copy, and its handlers see who wrote it but not which
// fields (pruneCached), whether it arrives in the first list or on the watch.
import type { Grant } from '../api/v1alpha1/types.ts';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cluster, kubectlOk, uniqueName } from '../test/cluster.ts';
import { eventually } from '../hack/local-infra/programs.ts';
import { loadKubeConfig } from '../lib/kube.ts';
import { createLogger } from '../lib/log.ts';
import { Hub, lastAppliedAnnotation } from './hub.ts';

const logger = createLogger('hub-test', process.env.LOG_LEVEL ?? 'silent');
const listed = uniqueName('hub-listed');
const watched = uniqueName('hub-watched');
let namespace: string;
let hub: Hub;
const seen = new Map<string, Grant['metadata']>();

const applyGrant = (name: string) =>
  kubectlOk('hub', ['apply', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'infrahq.com/v1alpha1',
      kind: 'Grant',
      metadata: { name, annotations: { 'team.example.com/owner': 'platform' } },
      spec: { user: `${name}@example.com`, role: 'view', resource: 'infra' },
    }),
  });

beforeAll(async () => {
  namespace = uniqueName('hub');
  await kubectlOk('hub', ['create', 'namespace', namespace]);
  await applyGrant(listed);
  hub = new Hub(loadKubeConfig(cluster('hub').adminKubeconfig), namespace, logger);
  hub.grants.onChange((grant) => seen.set(grant.metadata.name!, structuredClone(grant.metadata)));
  await hub.start();
});

afterAll(async () => {
  await hub?.stop();
  await kubectlOk('hub', ['delete', 'grant', listed, watched, '--ignore-not-found']);
  await kubectlOk('hub', ['delete', 'namespace', namespace, '--wait=false']);
});

for (const [how, name] of [
  ['listed', listed],
  ['watched', watched],
] as const) {
  it(`caches a ${how} Grant without kubectl's last-applied copy, and hands it to handlers with managers but no field sets`, async () => {
    if (name === watched) await applyGrant(watched);
    const metadata = await eventually(() => {
      const latest = seen.get(name);
      if (!latest) throw new Error(`the Grant handler has not seen ${name} yet`);
      return latest;
    });
    expect(metadata.managedFields?.map((f) => f.manager)).toContain('kubectl-client-side-apply');
    expect(metadata.managedFields?.every((f) => f.fieldsV1 === undefined)).toBe(true);
    expect(metadata.annotations).toEqual({ 'team.example.com/owner': 'platform' });
    const cached = hub.grants.get(name)!;
    expect(cached.metadata.annotations?.[lastAppliedAnnotation]).toBeUndefined();
    expect(cached.metadata.annotations).toEqual({ 'team.example.com/owner': 'platform' });
    expect(cached.spec).toEqual({ user: `${name}@example.com`, role: 'view', resource: 'infra' });
  });
}
