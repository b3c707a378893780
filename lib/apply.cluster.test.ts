// Server-side apply of status against the real hub: a write guarded by a resourceVersion
// lands only onto that version of the object, and a refused one changes nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cluster, kubectl, kubectlOk, uniqueName } from '../test/cluster.ts';
import { Applier } from './apply.ts';
import type { Condition } from './conditions.ts';
import { loadKubeConfig, statusCode } from './kube.ts';
import { RestClient } from './rest.ts';

// lib names no kinds of its own (docs/adr/0007-layering.md): the test names the one it writes.
const resources = { Grant: { group: 'infrahq.com', version: 'v1alpha1', kind: 'Grant', plural: 'grants' } } as const;
const name = uniqueName('guarded');
const path = `/apis/infrahq.com/v1alpha1/grants/${name}`;

interface Written {
  metadata: { resourceVersion: string };
  status?: { conditions?: Condition[] };
}

const probe = (reason: string): { conditions: Condition[] } => ({
  conditions: [{ type: 'Ready', status: 'False', reason, message: `written as ${reason}`, lastTransitionTime: '2030-01-01T00:00:00Z' }],
});
const reasons = (written: Written) => written.status?.conditions?.map((c) => c.reason);

beforeAll(async () => {
  const grant = { apiVersion: 'infrahq.com/v1alpha1', kind: 'Grant', metadata: { name }, spec: { user: 'ann@example.com', role: 'view', resource: 'nowhere' } };
  await kubectlOk('hub', ['create', '-f', '-'], { input: JSON.stringify(grant) });
});

afterAll(async () => {
  await kubectl('hub', ['delete', 'grant', name, '--ignore-not-found']);
});

describe('Applier.applyStatus', () => {
  it('writes onto the resourceVersion it names; onto an older one it is refused with 409 and writes nothing', async () => {
    const kubeConfig = loadKubeConfig(cluster('hub').adminKubeconfig);
    const applier = new Applier(kubeConfig, 'apply-test', resources);
    const read = () => new RestClient(kubeConfig).get<Written>(path);

    const first = await read();
    await applier.applyStatus('Grant', name, probe('First'), { resourceVersion: first.metadata.resourceVersion });
    const second = await read();
    expect(reasons(second)).toEqual(['First']);

    const refused = await applier.applyStatus('Grant', name, probe('FromAnOlderCopy'), { resourceVersion: first.metadata.resourceVersion }).then(
      () => expect.unreachable('a write onto an older resourceVersion succeeded'),
      (err: unknown) => err,
    );
    expect(statusCode(refused)).toBe(409);
    const unchanged = await read();
    expect(unchanged.metadata.resourceVersion).toBe(second.metadata.resourceVersion);
    expect(reasons(unchanged)).toEqual(['First']);

    await applier.applyStatus('Grant', name, probe('Unguarded'));
    expect(reasons(await read())).toEqual(['Unguarded']);
  });
});
