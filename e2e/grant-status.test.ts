// Grant status that tells the truth to GitOps tools, on the real hub and spoke with the
// real operator and connector: a Grant is Ready only once its destination's connector has
// bound its current generation. With the connector stopped it stays not-Ready and names
// the destination it waits for; kstatus and Argo CD's health check read it the same way.
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Grant } from '../api/v1alpha1/types.ts';
import { evaluateHealth } from '../hack/argocd-health.ts';
import type { Infra } from '../hack/local-infra/infra.ts';
import { eventually, startConnector, type RunningConnector } from '../hack/local-infra/programs.ts';
import { heartbeatTimeoutMs } from '../operator/controllers/destination.ts';
import { applyGrant, applyHub, cluster, grantObject, kubectl, kubectlOk, startTestInfra, uniqueName } from '../test/cluster.ts';

const destination = uniqueName('truth');
const user = `${uniqueName('gail')}@example.com`;
const bound = uniqueName('bound');
const later = uniqueName('later');
const cold = uniqueName('cold');
/** Marks the Grants of one test, for a watch of them all. */
const batchLabel = 'e2e.infrahq.com/batch';
let infra: Infra;
/** The connector started again after a stop; infra.stop() stops only the first one. */
let restarted: RunningConnector | undefined;

async function liveGrant(name: string): Promise<Grant> {
  return JSON.parse(await kubectlOk('hub', ['get', 'grant', name, '-o', 'json'])) as Grant;
}

/** Ready, Reconciling and Stalled as kstatus reads them: [type, status, reason]. */
function kstatus(grant: Grant): string[][] {
  return ['Ready', 'Reconciling', 'Stalled'].map((type) => {
    const c = grant.status?.conditions?.find((x) => x.type === type);
    return [type, c?.status ?? '', c?.reason ?? ''];
  });
}

/**
 * Every version of the Grants a selector picks that the hub's watch delivers from now on,
 * through the real kubectl (`get --watch -o json` prints each version as one indented JSON
 * document).
 */
function watchGrants(selector: string[]): { versions: Grant[]; stop: () => void } {
  const versions: Grant[] = [];
  const args = ['--kubeconfig', cluster('hub').adminKubeconfig, 'get', 'grants', '--watch', ...selector, '-o', 'json'];
  const child = spawn('kubectl', args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let buffered = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    const documents = (buffered + chunk).split(/(?<=^\})\n/m);
    buffered = documents.pop()!;
    for (const document of documents) versions.push(JSON.parse(document) as Grant);
  });
  return { versions, stop: () => void child.kill() };
}

const watchGrant = (name: string) => watchGrants(['--field-selector', `metadata.name=${name}`]);

/** The versions among these that changed the Grant's status: one per status write that changed something. */
function statusWrites(versions: readonly Grant[]): Grant[] {
  return versions.filter((v, i) => i > 0 && JSON.stringify(v.status) !== JSON.stringify(versions[i - 1]!.status));
}

const ready = (grant: Grant) => grant.status?.conditions?.find((c) => c.type === 'Ready');

async function expectBound(name: string, timeoutMs = 30_000): Promise<Grant> {
  return eventually(async () => {
    const grant = await liveGrant(name);
    expect(grant.status?.observedGeneration).toBe(grant.metadata.generation);
    expect(kstatus(grant)).toEqual([
      ['Ready', 'True', 'Bound'],
      ['Reconciling', 'False', 'Bound'],
      ['Stalled', 'False', 'Bound'],
    ]);
    expect(ready(grant)?.message).toContain(`in ${destination}`);
    expect(await evaluateHealth(grant)).toMatchObject({ status: 'Healthy' });
    return grant;
  }, timeoutMs);
}

beforeAll(async () => {
  infra = await startTestInfra({ namespace: uniqueName('infra'), destination });
}, 120_000);

afterAll(async () => {
  await kubectl('hub', ['delete', 'grants', '--ignore-not-found', bound, later, cold]);
  await restarted?.stop();
  await infra?.stop();
});

describe('a Grant', () => {
  it('is Ready once the connector has bound it, and its status then stays put: no write loop with the connector', async () => {
    await applyGrant(bound, { user, role: 'view', resource: destination });
    const grant = await expectBound(bound);
    const synced = grant.status?.conditions?.find((c) => c.type === 'Synced');
    expect(synced).toMatchObject({ status: 'True', observedGeneration: grant.metadata.generation });
    await kubectlOk('spoke', ['get', 'clusterrolebinding', 'infra:view']);

    // Each one's status write is a watch event for the other: a ping-pong would show as new resourceVersions.
    await new Promise((r) => setTimeout(r, 2000));
    const settled = await liveGrant(bound);
    await new Promise((r) => setTimeout(r, 3000));
    expect((await liveGrant(bound)).metadata.resourceVersion).toBe(settled.metadata.resourceVersion);
  });

  it('becomes Ready without stepping back while its connector binds it: the operator writes no status from an older copy', async () => {
    // The operator's status write and the connector's Synced race for every new Grant. One
    // computed from a copy older than the connector's write once set Ready back to
    // AwaitingSync until the operator's next write (a third): Argo CD saw Healthy, then
    // Progressing.
    const batch = uniqueName('race');
    const names = Array.from({ length: 12 }, (_, i) => `${batch}-${i}`);
    const labelled = (name: string, user: string) => ({
      ...grantObject(name, { user, role: 'view', resource: destination }),
      metadata: { name, labels: { [batchLabel]: batch } },
    });
    const watch = watchGrants(['--selector', `${batchLabel}=${batch}`]);
    // A first Grant the watch shows: from then on it sees every version of the others.
    await applyHub([labelled(`${batch}-first`, 'racer-first@example.com')]);
    await eventually(async () => expect(watch.versions.length).toBeGreaterThan(0));
    await applyHub(names.map((name, i) => labelled(name, `racer-${i}@example.com`)));
    for (const name of names) await expectBound(name);
    await new Promise((r) => setTimeout(r, 3000));
    watch.stop();
    await kubectl('hub', ['delete', 'grants', '--selector', `${batchLabel}=${batch}`]);

    for (const name of names) {
      const versions = watch.versions.filter((v) => v.metadata.name === name);
      const readies = versions.map((v) => `${ready(v)?.status ?? 'none'}/${ready(v)?.reason ?? ''}`);
      const firstReady = readies.indexOf('True/Bound');
      expect(firstReady, `${name}: ${readies.join(' → ')}`).toBeGreaterThan(-1);
      expect(readies.slice(firstReady), `${name}: Ready after it was first True: ${readies.join(' → ')}`).toEqual(
        readies.slice(firstReady).map(() => 'True/Bound'),
      );
      // The operator's write and the connector's, in either order: nothing rewrites what the other wrote.
      expect(statusWrites(versions).length, `${name}: ${readies.join(' → ')}`).toBeLessThanOrEqual(2);
    }
  });

  it("stays not-Ready, naming its destination, while that destination's connector is stopped; Ready once it is back", async () => {
    await infra.connector.stop();
    await applyGrant(later, { user, role: 'edit', resource: destination });
    // A changed spec is a new generation: the old Synced=True no longer counts.
    await applyGrant(bound, { user, role: 'view', resource: destination, expiresAt: '2099-01-01T00:00:00Z' });

    for (const name of [later, bound]) {
      await eventually(async () => {
        const grant = await liveGrant(name);
        expect(kstatus(grant)).toEqual([
          ['Ready', 'False', 'AwaitingSync'],
          ['Reconciling', 'True', 'AwaitingSync'],
          ['Stalled', 'False', 'AwaitingSync'],
        ]);
        expect(ready(grant)?.message).toBe(
          `waiting for the connector of destination ${destination} to bind generation ${grant.metadata.generation} of this Grant`,
        );
        expect(await evaluateHealth(grant)).toEqual({ status: 'Progressing', message: ready(grant)!.message });
      });
    }
    // And it stays so: nothing but the connector can make it Ready.
    const until = Date.now() + 5000;
    while (Date.now() < until) {
      for (const name of [later, bound]) expect(ready(await liveGrant(name))?.status).toBe('False');
      await new Promise((r) => setTimeout(r, 500));
    }
    expect((await kubectl('spoke', ['get', 'clusterrolebinding', 'infra:edit'])).code).not.toBe(0);

    restarted = await startConnector(infra.connectorOptions);
    await expectBound(later);
    await expectBound(bound);
    await kubectlOk('spoke', ['get', 'clusterrolebinding', 'infra:edit']);
  });

  it("costs the hub one status write per generation after the operator's first: the connector writes Synced and Ready together, and the operator leaves it", async () => {
    await restarted!.stop();
    await applyGrant(cold, { user, role: 'view', resource: destination });
    await applyGrant(later, { user, role: 'edit', resource: destination, expiresAt: '2099-01-01T00:00:00Z' });
    const watches = [cold, later].map((name) => ({ name, watch: watchGrant(name) }));
    // The operator's own write for each generation: not Ready until the connector binds it.
    for (const { watch } of watches) {
      await eventually(async () => {
        const last = watch.versions.at(-1);
        expect(last && kstatus(last)[0]).toEqual(['Ready', 'False', 'AwaitingSync']);
      });
    }
    const awaiting = watches.map(({ watch }) => watch.versions.length);

    restarted = await startConnector(infra.connectorOptions);
    for (const { name } of watches) await expectBound(name);
    await new Promise((r) => setTimeout(r, 3000));
    for (const [i, { name, watch }] of watches.entries()) {
      watch.stop();
      const writes = statusWrites(watch.versions.slice(awaiting[i]! - 1));
      const described = writes.map((w) =>
        w.status?.conditions?.map((c) => `${c.type}=${c.status}/${c.reason}@${c.observedGeneration} since ${c.lastTransitionTime}`),
      );
      expect(writes, `status writes on ${name} after the operator's: ${JSON.stringify(described)}`).toHaveLength(1);
      const [written] = writes;
      expect(written!.status?.conditions?.find((c) => c.type === 'Synced')).toMatchObject({ status: 'True', observedGeneration: written!.metadata.generation });
      expect(kstatus(written!)).toEqual([
        ['Ready', 'True', 'Bound'],
        ['Reconciling', 'False', 'Bound'],
        ['Stalled', 'False', 'Bound'],
      ]);
    }
    expect(ready(watches[1]!.watch.versions.at(-1)!)?.message).toMatch(/; access until 2099-01-01T00:00:00Z$/);
  });

  it('is Stalled (DestinationDisconnected), Degraded in Argo CD, once its connector misses its heartbeats; Ready again when it returns', async () => {
    await restarted!.stop();
    const stoppedAt = Date.now();
    await eventually(
      async () => {
        const grant = await liveGrant(bound);
        expect(kstatus(grant)).toEqual([
          ['Ready', 'False', 'DestinationDisconnected'],
          ['Reconciling', 'False', 'DestinationDisconnected'],
          ['Stalled', 'True', 'DestinationDisconnected'],
        ]);
        expect(ready(grant)?.message).toMatch(new RegExp(`^destination ${destination} is disconnected: no heartbeat from its connector since `));
        expect(await evaluateHealth(grant)).toMatchObject({ status: 'Degraded' });
      },
      heartbeatTimeoutMs + 30_000,
      1000,
    );
    // Not before the heartbeat timeout (counted from the last heartbeat, up to 30 s before the stop): a restart is not a disconnect.
    expect(Date.now() - stoppedAt).toBeGreaterThan(heartbeatTimeoutMs - 35_000);

    restarted = await startConnector(infra.connectorOptions);
    await expectBound(bound);
    await expectBound(later);
  }, 180_000);
});
