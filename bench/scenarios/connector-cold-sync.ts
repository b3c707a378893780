// Connector cold sync: a fresh connector process against a hub that already holds
// 10,000 Grants for its destination and a spoke with 1,000 namespaces and none of the
// bindings yet. Timed from the process start until a watch on the spoke has seen every
// expected RoleBinding with exactly its subjects, and until the connector has also
// written Synced on every Grant (its reconcile counters stand still: the connector has no
// "synced" signal of its own). Its peak RSS is VmHWM from /proc. Also timed: the hub's list
// of those Grants to a plain client, the part of the sync's time no connector can shorten.
// Baselines: the same RoleBindings written by a plain client with server-side apply, as
// many at a time as the connector's binding workers, on the lean request path the
// connector writes with (lib/rest.ts): the API server's floor for those writes;
// for memory, the connector of the same installation before the Grants existed. After
// the sync, a plain client writes the connector's Synced status on every Grant again, as
// many at a time as its status workers: the hub's floor for the Synced phase.
import { RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';
import { grantFixture, runLabel, type GrantFixture } from '../grant-fixture.ts';
import {
  boundedLoad,
  heapFigures,
  infra,
  memorySplit,
  processCpuMs,
  processMemory,
  reportCrash,
  sumByController,
  uniqueName,
  waitForQuiet,
  waitSettled,
  type BenchContext,
  type Scenario,
} from '../harness.ts';
import { hasExactly, SpokeRoleBindings } from '../spoke-bindings.ts';
import { median, percent, type Row } from '../table.ts';
import { bindingWorkers, fieldManager } from '../../connector/rbac/controller.ts';
import { destinationLabel } from '../../api/grants.ts';
import { resources, type Grant } from '../../api/v1alpha1/types.ts';
import { statusWorkers } from '../../connector/rbac/synced-status.ts';
import { Applier } from '../../lib/apply.ts';
import { conditionTime } from '../../lib/conditions.ts';
import { continueToken, defaultListPageSize } from '../../lib/controller/informer.ts';
import { resourcePath, RestClient } from '../../lib/rest.ts';
import { startConnector } from '../../hack/local-infra/programs.ts';

const title = 'Connector cold sync';

/**
 * Seconds for a plain client to server-side apply the fixture's RoleBindings (under
 * other names, unlabelled for Infra), `bindingWorkers` at a time; deleted afterwards.
 */
async function plainApply(ctx: BenchContext, fixture: GrantFixture): Promise<number> {
  const api = new RestClient(ctx.spoke);
  const bindings = [...fixture.expected].map(([id, subjects]) => {
    const [namespace, name] = id.split('/') as [string, string];
    return { namespace, name: `bench-plain-${name.replaceAll(':', '-')}`, role: name.slice('infra:'.length), subjects };
  });
  const start = performance.now();
  await boundedLoad(bindings.length, bindingWorkers, Infinity, async (i) => {
    const { namespace, name, role, subjects } = bindings[i]!;
    const body = {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name, namespace, labels: { [runLabel]: fixture.run } },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
      subjects,
    };
    await api.apply(resourcePath('rbac.authorization.k8s.io', 'v1', 'rolebindings', namespace, name), body, 'bench');
  });
  const seconds = (performance.now() - start) / 1000;
  const rbac = ctx.spoke.makeApiClient(RbacAuthorizationV1Api);
  await boundedLoad(fixture.namespaces.length, 16, Infinity, (i) =>
    rbac.deleteCollectionNamespacedRoleBinding({ namespace: fixture.namespaces[i]!, labelSelector: `${runLabel}=${fixture.run}` }).then(() => undefined),
  );
  return seconds;
}

/**
 * Seconds for the hub to list the destination's Grants to a plain client, page after page
 * as the connector's informer asks (parsed, then dropped), median of 3: the time before
 * which no connector can write a binding, since it binds from the whole list. Also the
 * list's size as compact JSON (what the API server encodes), measured outside the timing.
 */
async function hubList(ctx: BenchContext, destination: string): Promise<{ seconds: number; bytes: number }> {
  const api = new RestClient(ctx.hub);
  const times: number[] = [];
  let bytes = 0;
  for (let rep = 0; rep < 3; rep++) {
    let elapsed = 0;
    await grantPages(api, destination, (page, ms) => {
      elapsed += ms;
      if (rep === 0) bytes += Buffer.byteLength(JSON.stringify(page));
    });
    times.push(elapsed / 1000);
  }
  return { seconds: median(times), bytes };
}

/**
 * Lists the destination's Grants from the hub page after page, as the connector's informer
 * asks, handing each page's items to `onPage` with the milliseconds its request took.
 */
async function grantPages(api: RestClient, destination: string, onPage: (items: Grant[], ms: number) => void): Promise<void> {
  const { group, version, plural } = resources.Grant;
  let next: string | undefined;
  do {
    const start = performance.now();
    const page = await api.list<Grant>(resourcePath(group, version, plural), {
      limit: defaultListPageSize,
      labelSelector: `${destinationLabel}=${destination}`,
      ...(next ? { _continue: next } : {}),
    });
    onPage(page.items, performance.now() - start);
    next = continueToken(page);
  } while (next);
}

/** The destination's Grants as the hub has them now. */
async function listGrants(api: RestClient, destination: string): Promise<Grant[]> {
  const grants: Grant[] = [];
  await grantPages(api, destination, (items) => grants.push(...items));
  return grants;
}

/** Processes by name, whose CPU time a phase splits. */
type Pids = Record<string, number>;

/** Starts counting each process's CPU time; the result reads ms per unit of work since then. */
async function cpuSplit(pids: Pids): Promise<(units: number) => Promise<Record<string, number>>> {
  const read = () => Promise.all(Object.values(pids).map((pid) => processCpuMs(pid)));
  const before = await read();
  return async (units) => {
    const after = await read();
    return Object.fromEntries(Object.keys(pids).map((name, i) => [name, (after[i]! - before[i]!) / units]));
  };
}

const describeSplit = (split: Record<string, number>) =>
  Object.entries(split)
    .map(([name, ms]) => `${name} ${ms.toFixed(2)} ms`)
    .join(', ');

/**
 * Seconds for a plain client to write the connector's status on every Grant once more,
 * `statusWorkers` at a time, with the connector stopped: each Grant's Synced, Ready,
 * Reconciling and Stalled as the connector left them, under its field manager, with a new
 * transition time so that each is a real write (the operator finds them current, as it
 * did the connector's, and writes nothing). The hub's time for the Synced phase's writes
 * alone, with nothing of the connector in it.
 */
async function plainSyncedWrites(
  ctx: BenchContext,
  destination: string,
  hubPids: Pids,
): Promise<{ seconds: number; writes: number; cpuPerWriteMs: Record<string, number> }> {
  const api = new RestClient(ctx.hub);
  const hub = new Applier(ctx.hub, fieldManager, resources);
  const grants = await listGrants(api, destination);
  const written = conditionTime(new Date(Date.now() + 1000));
  const connectorTypes = new Set(['Synced', 'Ready', 'Reconciling', 'Stalled']);
  const cpuPerWrite = await cpuSplit({ ...hubPids, 'the plain client': process.pid });
  const start = performance.now();
  await boundedLoad(grants.length, statusWorkers, Infinity, async (i) => {
    const grant = grants[i]!;
    const conditions = (grant.status?.conditions ?? []).filter((c) => connectorTypes.has(c.type)).map((c) => ({ ...c, lastTransitionTime: written }));
    if (conditions.length !== connectorTypes.size)
      throw new Error(`Grant ${grant.metadata.name} does not carry the connector's status (${conditions.map((c) => c.type).join(', ')})`);
    await hub.applyStatus('Grant', grant.metadata.name!, { conditions });
  });
  const seconds = (performance.now() - start) / 1000;
  const cpuPerWriteMs = await cpuPerWrite(grants.length);
  const unwritten = (await listGrants(api, destination)).filter((g) => g.status?.conditions?.find((c) => c.type === 'Synced')?.lastTransitionTime !== written);
  if (unwritten.length > 0) throw new Error(`the plain client's status write did not reach ${unwritten.length} Grants (e.g. ${unwritten[0]!.metadata.name})`);
  return { seconds, writes: grants.length, cpuPerWriteMs };
}

export const connectorColdSync: Scenario = {
  id: 'connector-cold-sync',
  title,
  async run(ctx) {
    const sizes = ctx.quick ? { grants: 200, namespaces: 20, timeoutMs: 120_000 } : { grants: 10_000, namespaces: 1000, timeoutMs: 900_000 };
    const destination = uniqueName('bench-sync');
    const installed = await infra(ctx, destination);
    await sleep(2000); // settled after registering
    const idle = await processMemory(installed.connector.process.pid!);
    await installed.connector.stop();

    const fixture = await grantFixture(ctx, destination, sizes);
    // The operator writes a status on every new Grant: done before the connector starts,
    // so the measurement is the connector's work and what it causes.
    const operatorStart = performance.now();
    const operatorSettled = await waitSettled(installed.operator.metricsURL, { minimum: { grant: sizes.grants }, timeoutMs: sizes.timeoutMs, log: ctx.log });
    ctx.log(`operator ${operatorSettled.settled ? 'settled' : 'NOT settled'} after ${((performance.now() - operatorStart) / 1000).toFixed(1)} s`);
    const { seconds: listS, bytes: listBytes } = await hubList(ctx, destination);
    const baselineS = await plainApply(ctx, fixture);
    ctx.log(
      `plain client: the hub's ${sizes.grants} Grants listed in ${listS.toFixed(2)} s, ${fixture.expected.size} RoleBindings applied in ${baselineS.toFixed(1)} s`,
    );

    const bindings = await SpokeRoleBindings.start(ctx.spoke);
    ctx.defer(() => bindings.stop());
    const checks = new Map([...fixture.expected].map(([id, subjects]) => [id, hasExactly(subjects)]));
    await waitForQuiet(ctx);
    const start = performance.now();
    const bound = bindings.until(checks, sizes.timeoutMs);
    const firstBound = bindings.first(checks, sizes.timeoutMs);
    for (const p of [bound, firstBound]) p.catch(() => undefined); // awaited below, after the connector has started
    const connector = await startConnector(installed.connectorOptions);
    reportCrash(ctx, connector);
    ctx.defer(() => connector.stop());
    const readyS = (performance.now() - start) / 1000;
    const settling = waitSettled(connector.metricsURL, { minimum: { rbac: fixture.expected.size }, timeoutMs: sizes.timeoutMs, log: ctx.log });
    const hubPids: Pids = {
      "the hub's API server": ctx.controlPlane.state.clusters.hub.pid,
      etcd: ctx.controlPlane.state.etcd.pid,
      'the operator': installed.operator.process.pid!,
    };
    // The Synced phase's CPU, from the last binding on (the quiet 2 s that end it included).
    const syncedPhaseCpu = bound.then(() => cpuSplit({ ...hubPids, 'the connector': connector.process.pid! }));
    syncedPhaseCpu.catch(() => undefined);
    const boundS = ((await bound) - start) / 1000;
    const firstS = ((await firstBound) - start) / 1000;
    const settled = await settling;
    const syncedS = readyS + settled.elapsedMs / 1000;
    const syncedCpuPerGrant = await (await syncedPhaseCpu)(sizes.grants);
    const memory = await processMemory(connector.process.pid!);
    const heap = await heapFigures(connector.metricsURL);
    const reconciles = (await sumByController(connector.metricsURL)).get('rbac') ?? 0;
    const reconcileSeconds = (await sumByController(connector.metricsURL, 'infra_reconcile_duration_seconds_sum')).get('rbac') ?? 0;
    ctx.log(
      `ready ${readyS.toFixed(1)} s, first RoleBinding ${firstS.toFixed(2)} s, all ${fixture.expected.size} RoleBindings ${boundS.toFixed(1)} s, ` +
        `every Grant Synced ${syncedS.toFixed(1)} s${settled.settled ? '' : ' (NOT settled)'}; peak RSS ${memory.hwmMiB.toFixed(0)} MiB`,
    );

    await connector.stop();
    const plainSynced = await plainSyncedWrites(ctx, destination, hubPids);
    ctx.log(`plain client: the connector's status written on ${plainSynced.writes} Grants again in ${plainSynced.seconds.toFixed(1)} s`);

    const size = `${sizes.grants.toLocaleString('en-US')} grants, ${sizes.namespaces.toLocaleString('en-US')} namespaces`;
    return [
      {
        scenario: title,
        metric: `start → all RoleBindings in place (${size})`,
        unit: 's',
        ours: boundS,
        baseline: baselineS,
        baselineLabel: `a plain client server-side applying the same ${fixture.expected.size} RoleBindings, ${bindingWorkers} at a time (the connector's workers), on the connector's request path (lib/rest.ts, pooled connection)`,
        target: { on: 'ratio', op: '<=', value: 1.2 },
        note:
          `one fresh connector process, from spawn until a watch on the spoke has seen every expected RoleBinding with exactly its subjects; the spoke held none of them; ` +
          `the steps: spawn → ready ${readyS.toFixed(2)} s, ready → first RoleBinding in place ${(firstS - readyS).toFixed(2)} s (the Lease, the first heartbeat and the rest of the hub's Grant list: nothing is written before that list is whole), first → last ${(boundS - firstS).toFixed(2)} s (the plain client's whole time: ${baselineS.toFixed(2)} s); ` +
          `the operator kept running (it had ${operatorSettled.settled ? '' : 'NOT '}settled before the connector started); ` +
          `by the end the connector had run ${reconciles.toLocaleString('en-US')} reconciles of ${fixture.expected.size.toLocaleString('en-US')} binding keys, ${((reconcileSeconds / reconciles) * 1000).toFixed(1)} ms each on average, ${bindingWorkers} at a time`,
      },
      {
        scenario: title,
        metric: `start → every Grant Synced (${size})`,
        unit: 's',
        ours: syncedS,
        baseline: boundS,
        baselineLabel: 'the same connector putting every RoleBinding in place (the row above): the Synced writes follow the bindings',
        target: { on: 'ratio', op: '<=', value: 2 },
        note:
          `until the connector's reconcile counters (/metrics) stood still for 2 s${settled.settled ? '' : ' — NOT reached within the bound'}: it also writes the Synced condition on each Grant in the hub; ` +
          `the bindings' time plus a plain client's ${plainSynced.writes.toLocaleString('en-US')} status writes (the row below) is ${((boundS + plainSynced.seconds) / boundS).toFixed(2)}× the bindings' time, this row's floor while each Grant carries its own Synced`,
      },
      {
        scenario: title,
        metric: `the Synced writes alone, last RoleBinding → every Grant Synced (${size})`,
        unit: 's',
        ours: syncedS - boundS,
        baseline: plainSynced.seconds,
        baselineLabel: `a plain client server-side applying the connector's status on the same ${plainSynced.writes.toLocaleString('en-US')} Grants once more, ${statusWorkers} at a time (the connector's status workers), the connector stopped`,
        note:
          "each write the connector's four conditions with a new transition time, under its field manager, as one server-side apply to the Grant's status; the operator kept running and, as with the connector's writes, found the conditions current; " +
          `CPU per Grant in the connector's phase: ${describeSplit(syncedCpuPerGrant)}; per write of the plain client's: ${describeSplit(plainSynced.cpuPerWriteMs)}`,
      },
      {
        scenario: title,
        metric: `peak RSS, VmHWM (${size})`,
        unit: 'MiB',
        ours: memory.hwmMiB,
        baseline: idle.hwmMiB,
        baselineLabel: "the same installation's connector before the Grants existed (VmHWM 2 s after it was ready)",
        target: { on: 'ours', op: '<=', value: 150 },
        note: `VmHWM from /proc once settled; VmRSS then ${memory.rssMiB.toFixed(0)} MiB: ${memorySplit(memory.rssMiB, heap)}`,
      },
      {
        scenario: title,
        metric: `the hub's Grant list to a plain client (${size})`,
        unit: 's',
        ours: listS,
        note:
          `lib/rest.ts listing the destination's Grants in pages of ${defaultListPageSize}, as the connector's informer asks, parsed and dropped, median of 3, before the connector started; ${(listBytes / 2 ** 20).toFixed(1)} MiB of JSON, ${(listBytes / sizes.grants / 1024).toFixed(2)} KiB per Grant: ` +
          `the hub's API server's time to serve them, before which no binding can be written; this list plus the plain client's writes is ${percent((listS + baselineS) / baselineS)} of the writes alone, the bindings row's floor in this design before the process's own start`,
      },
      {
        scenario: title,
        metric: `start → ready (${size})`,
        unit: 's',
        ours: readyS,
        note: 'process spawn until /readyz: spoke caches synced, proxy up, signing keys loaded',
      },
    ] satisfies Row[];
  },
};
