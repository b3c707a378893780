// Two connector processes for one destination, as the Deployment's two replicas: one
// leader (the Lease in the spoke) writes the bindings, both serve the proxy; and when the
// leader is killed (SIGKILL) in the middle of a 10,000-Grant cold sync, no binding is
// lost and the standby finishes the sync within the 15 s the connector promises.
// Real hub, spoke, operator, connectors and kubectl; short leases, as the config allows.
import { CoreV1Api, CustomObjectsApi, RbacAuthorizationV1Api, type V1RoleBinding } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resources } from '../api/v1alpha1/types.ts';
import { expectedBindings, fixtureGrants, runLabel } from '../bench/grant-fixture.ts';
import { boundedLoad, sumByController, waitSettled } from '../bench/harness.ts';
import { hasExactly, SpokeRoleBindings } from '../bench/spoke-bindings.ts';
import { managedByLabel, managedByValue } from '../connector/rbac/desired.ts';
import type { Infra } from '../hack/local-infra/infra.ts';
import { eventually, startConnector, type RunningConnector } from '../hack/local-infra/programs.ts';
import { Informer } from '../lib/controller/informer.ts';
import { loadKubeConfig, statusCode } from '../lib/kube.ts';
import { cluster, grantObject, kubectl, kubectlOk, startTestInfra, uniqueName } from '../test/cluster.ts';

const namespace = uniqueName('infra');
const destination = uniqueName('ha');
const alice = `${uniqueName('alice')}@example.com`;
const password = 'a long enough password';
const grantName = uniqueName('alice-view');
/** Short leases so the test is quick: a standby takes over ≤ 3 s + one jittered retry (≤ 1.1 s) after the leader's last renewal. */
const leaderElection = { leaseDuration: '3s', renewDeadline: '2s', retryPeriod: '500ms' };
/**
 * The promise of issue 23: the new leader has every binding in place this soon after the
 * old one died. On a machine so busy that the old leader itself wrote bindings slowly, the
 * bound is what that pace allows instead (failoverBound).
 */
const failoverPromiseS = 15;
/** The longest a standby waits to take over a dead leader's Lease: leaseDuration plus one jittered retry period (2.2 × 500 ms). */
const takeoverS = 3 + 1.1;
const fixture = { grants: 10_000, namespaces: 1_000 };
const inFlight = 32;
const cleanupTimeoutMs = 600_000;

const hub = loadKubeConfig(cluster('hub').adminKubeconfig);
const spoke = loadKubeConfig(cluster('spoke').adminKubeconfig);
const leaseKey = `${namespace}/infra-connector`;
let infra: Infra;
/** Connectors this file started itself, besides infra's. */
const started: RunningConnector[] = [];

/** 1 when the connector's infra_leader gauge says it leads, 0 when it stands by. */
async function leaderGauge(connector: RunningConnector): Promise<number> {
  const text = await (await fetch(`${connector.metricsURL}/metrics`)).text();
  const match = new RegExp(`^infra_leader\\{lease="${leaseKey}"\\} (\\d)$`, 'm').exec(text);
  if (!match) throw new Error(`no infra_leader{lease="${leaseKey}"} on ${connector.metricsURL}/metrics`);
  return Number(match[1]);
}

/** The one connector that leads, once exactly one does and the others stand by. */
async function theLeader(connectors: RunningConnector[]): Promise<RunningConnector> {
  return eventually(async () => {
    const gauges = await Promise.all(connectors.map(leaderGauge));
    expect(gauges.toSorted()).toEqual([...Array<number>(connectors.length - 1).fill(0), 1]);
    return connectors[gauges.indexOf(1)]!;
  }, 20_000);
}

beforeAll(async () => {
  infra = await startTestInfra({ namespace, destination, connectors: 2, connectorLeaderElection: leaderElection, logLevel: 'info' }, { [alice]: password }, [
    grantObject(grantName, { user: alice, role: 'view', resource: destination }),
  ]);
}, 120_000);

afterAll(async () => {
  await Promise.all(started.map((c) => c.stop()));
  await kubectl('hub', ['delete', 'grant', grantName, '--ignore-not-found']);
  await infra?.stop();
  await kubectl('spoke', ['delete', 'lease', '-n', namespace, 'infra-connector', '--ignore-not-found']);
}, 60_000);

describe('two connector replicas', () => {
  it('elect one leader: it alone writes bindings and heartbeats; both serve the proxy', async () => {
    const leader = await theLeader(infra.connectors);
    const standby = infra.connectors.find((c) => c !== leader)!;
    const holder = await kubectlOk('spoke', ['get', 'lease', '-n', namespace, 'infra-connector', '-o', 'jsonpath={.spec.holderIdentity}']);
    expect(holder).toBe(`connector-${infra.connectors.indexOf(leader)}`);

    await eventually(async () => {
      const subjects = await kubectlOk('spoke', ['get', 'clusterrolebinding', 'infra:view', '-o', 'jsonpath={.subjects[*].name}']);
      expect(subjects.split(' ')).toContain(alice);
    });
    expect((await sumByController(leader.metricsURL)).get('rbac')).toBeGreaterThan(0);
    const standbyReconciles = await sumByController(standby.metricsURL);
    expect(standbyReconciles.get('rbac') ?? 0).toBe(0);
    expect(standbyReconciles.get('synced') ?? 0).toBe(0);
    expect(standby.logs.some((line) => line.includes('leading: registering the destination'))).toBe(false);

    const token = await eventually(() => infra.token(alice, password));
    for (const connector of infra.connectors) {
      const ready = await fetch(`${connector.metricsURL}/readyz`);
      expect(ready.status, `${connector.metricsURL}/readyz`).toBe(200);
      const result = await kubectl('spoke', ['get', 'namespace', 'default', '-o', 'name'], {
        kubeconfig: await infra.proxyKubeconfig(token, connector.proxyURL),
      });
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout.trim()).toBe('namespace/default');
    }
  });

  it(
    `lose no binding when the leader is killed in the middle of a ${fixture.grants.toLocaleString('en-US')}-Grant cold sync, and the new leader converges within ${failoverPromiseS} s`,
    async () => {
      // Both replicas stop (releasing the Lease); the Grants appear while none runs, so the
      // next pair starts cold.
      await Promise.all(infra.connectors.map((c) => c.stop()));
      const run = uniqueName('ha');
      const namespaces = Array.from({ length: fixture.namespaces }, (_, i) => `${run}-${i}`);
      const grants = fixtureGrants(run, destination, namespaces, fixture.grants);
      const expected = expectedBindings(grants);
      await createFixture(run, namespaces, grants);
      // The operator writes a status on every new Grant: let it finish (bounded), so the
      // failover is timed against the connectors' work rather than the operator's.
      const operator = await waitSettled(infra.operator.metricsURL, { minimum: { grant: fixture.grants }, timeoutMs: 180_000, log: console.log });
      if (!operator.settled) console.log('the operator had not finished reconciling the Grants after 3 minutes; measuring the failover anyway');

      const bindings = await SpokeRoleBindings.start(spoke);
      const owned = await ownedBindings(run);
      try {
        const pair = [0, 1].map((i) => startConnector({ ...infra.connectorOptions, leaderElection: { ...leaderElection, identity: `connector-${i}` } }));
        started.push(...(await Promise.all(pair)));
        const leader = await theLeader(started);
        const survivor = started.find((c) => c !== leader)!;
        // Mid-sync: some of the bindings are there, most are not.
        await eventually(() => expect(owned.count()).toBeGreaterThanOrEqual(expected.size / 10), 600_000, 20);
        await leader.kill();
        const killedAt = performance.now();
        const atKill = owned.count();
        expect(atKill, 'the sync had finished before the leader was killed: nothing to fail over').toBeLessThan(expected.size);

        const boundS = failoverBound(atKill, expected.size, (killedAt - owned.firstAddedAt!) / 1000);
        const checks = new Map([...expected].map(([id, subjects]) => [id, hasExactly(subjects)]));
        const convergedAt = await bindings.until(checks, Math.max(120, 2 * boundS) * 1000);
        const failoverS = (convergedAt - killedAt) / 1000;
        console.log(
          `failover: killed at ${atKill} of ${expected.size} RoleBindings; every one in place ${failoverS.toFixed(1)} s later (bound ${boundS.toFixed(1)} s)`,
        );
        expect(failoverS).toBeLessThanOrEqual(boundS);
        expect(owned.deleted, 'RoleBindings deleted during the failover').toEqual([]);
        // Leads (again: on a busy machine a 2 s renew deadline can lapse, and it steps down and re-acquires).
        expect(await theLeader([survivor])).toBe(survivor);
        expect((await sumByController(survivor.metricsURL)).get('rbac')).toBeGreaterThan(0);
      } finally {
        await Promise.all(started.map((c) => c.stop()));
        await Promise.all([bindings.stop(), owned.stop()]);
        await removeFixture(run);
      }
    },
    cleanupTimeoutMs + 600_000,
  );
});

/**
 * The 15 s, or on a machine too busy for it, what the old leader's own pace
 * allows: the takeover, then the bindings still missing written at half the rate the old
 * leader wrote its first ones. Either catches a standby that lists the hub again, waits
 * for a resync or never takes over; the second is not fooled by a machine whose load
 * (other suites, other work) slows every process alike.
 */
function failoverBound(writtenBeforeKill: number, total: number, writingS: number): number {
  const rate = writtenBeforeKill / writingS;
  return Math.max(failoverPromiseS, takeoverS + (2 * (total - writtenBeforeKill)) / rate);
}

/** The spoke's namespaces and the hub's Grants, `inFlight` requests at a time. */
async function createFixture(run: string, namespaces: string[], grants: ReturnType<typeof fixtureGrants>): Promise<void> {
  const core = spoke.makeApiClient(CoreV1Api);
  const custom = hub.makeApiClient(CustomObjectsApi);
  const { group, version, plural } = resources.Grant;
  await boundedLoad(namespaces.length, inFlight, Infinity, (i) =>
    core.createNamespace({ body: { metadata: { name: namespaces[i]!, labels: { [runLabel]: run } } } }).then(() => undefined),
  );
  await boundedLoad(grants.length, inFlight, Infinity, (i) =>
    custom.createClusterCustomObject({ group, version, plural, body: grants[i]! }).then(() => undefined),
  );
}

/** Deletes the Grants and namespaces, and waits until the namespaces (with their bindings) are gone, so no later suite's connector meets them. */
async function removeFixture(run: string): Promise<void> {
  const core = spoke.makeApiClient(CoreV1Api);
  const custom = hub.makeApiClient(CustomObjectsApi);
  const { group, version, plural } = resources.Grant;
  const labelSelector = `${runLabel}=${run}`;
  const deleteEach = (names: string[], remove: (name: string) => Promise<unknown>) =>
    boundedLoad(names.length, inFlight, Infinity, async (i) => {
      await remove(names[i]!).catch((err: unknown) => {
        if (statusCode(err) !== 404) throw err;
      });
    });
  const grantNames = (
    (await custom.listClusterCustomObject({ group, version, plural, labelSelector })) as {
      items: { metadata: { name: string } }[];
    }
  ).items.map((g) => g.metadata.name);
  await deleteEach(grantNames, (name) => custom.deleteClusterCustomObject({ group, version, plural, name }));
  const namespaceNames = async () => (await core.listNamespace({ labelSelector })).items.map((ns) => ns.metadata!.name!);
  await deleteEach(await namespaceNames(), (name) => core.deleteNamespace({ name }));
  await eventually(async () => expect(await namespaceNames()).toEqual([]), cleanupTimeoutMs, 2_000);
}

/** Infra's RoleBindings in the fixture's namespaces as a watch sees them: how many there are, and every one deleted. */
async function ownedBindings(run: string): Promise<{ count(): number; deleted: string[]; firstAddedAt: number | undefined; stop(): Promise<void> }> {
  const rbac = spoke.makeApiClient(RbacAuthorizationV1Api);
  const labelSelector = `${managedByLabel}=${managedByValue}`;
  const informer = new Informer<V1RoleBinding>({
    kubeConfig: spoke,
    logger: pino({ level: 'warn' }),
    path: '/apis/rbac.authorization.k8s.io/v1/rolebindings',
    labelSelector,
    list: (page) => rbac.listRoleBindingForAllNamespaces({ labelSelector, ...page }),
  });
  const ours = (b: V1RoleBinding) => b.metadata!.namespace!.startsWith(`${run}-`);
  const deleted: string[] = [];
  const seen = { firstAddedAt: undefined as number | undefined };
  informer.onChange((binding, event) => {
    if (!ours(binding)) return;
    if (event === 'add') seen.firstAddedAt ??= performance.now();
    if (event === 'delete') deleted.push(`${binding.metadata!.namespace}/${binding.metadata!.name}`);
  });
  await informer.start();
  await informer.waitForSync();
  return {
    count: () => informer.list().filter(ours).length,
    deleted,
    get firstAddedAt() {
      return seen.firstAddedAt;
    },
    stop: () => informer.stop(),
  };
}
