// Operator memory with many Grants and Users: the operator caches every Grant, User,
// Group and Destination of the hub (informers with indexes), so its resident memory
// grows with them. Baseline: the same operator against the same hub before the objects
// exist. Measured after the caches have synced and reconciling has finished.
import { CustomObjectsApi } from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RunningOperator } from '../../hack/local-infra/programs.ts';
import { destinationLabel } from '../../api/grants.ts';
import {
  boundedLoad,
  heapFigures,
  memorySplit,
  openSockets,
  operator,
  ownNamespace,
  processMemory,
  uniqueName,
  waitSettled,
  type BenchContext,
  type HeapFigures,
  type Memory,
  type Scenario,
  type SettleOptions,
} from '../harness.ts';
import { median, type Row } from '../table.ts';

const title = 'Operator memory';
const group = 'infrahq.com';
const version = 'v1alpha1';
const createConcurrency = 32;
const roles = ['view', 'edit', 'admin', 'logs'] as const;

interface Sizes {
  grants: number;
  users: number;
  destinations: number;
  groups: number;
  /** Fresh operators measured after the first one (which does the reconcile writes). */
  reps: number;
  baselineReps: number;
  settleTimeoutMs: number;
}

interface Measured extends HeapFigures {
  memory: Memory;
  /** Most sockets the process held open at once while settling (connections to the hub, mostly). */
  maxSockets: number;
  readyMs: number;
  settle: { settled: boolean; elapsedMs: number };
}

/** The objects, by plural, with names unique to this run and a label to delete them by. */
function objects(run: string, sizes: Sizes): Record<'destinations' | 'groups' | 'users' | 'grants', object[]> {
  const labels = { 'bench.infrahq.com/run': run };
  const meta = (name: string) => ({ name, labels });
  const email = (i: number) => `user-${i}.${run}@example.com`;
  const destination = (i: number) => `${run}-dest-${i}`;
  const groupName = (i: number) => `${run}-team-${i}`;
  return {
    destinations: Array.from({ length: sizes.destinations }, (_, i) => ({
      apiVersion: `${group}/${version}`,
      kind: 'Destination',
      metadata: meta(destination(i)),
      spec: { kind: 'kubernetes' },
    })),
    // Every user in one built-in group (round robin).
    groups: Array.from({ length: sizes.groups }, (_, g) => ({
      apiVersion: `${group}/${version}`,
      kind: 'Group',
      metadata: meta(groupName(g)),
      spec: { members: Array.from({ length: Math.ceil((sizes.users - g) / sizes.groups) }, (_, k) => email(g + k * sizes.groups)) },
    })),
    users: Array.from({ length: sizes.users }, (_, i) => ({
      apiVersion: `${group}/${version}`,
      kind: 'User',
      metadata: meta(`${run}-user-${i}`),
      spec: { email: email(i) },
    })),
    // 70% to a user, 30% to a group; a third of them on one namespace; four roles.
    grants: Array.from({ length: sizes.grants }, (_, k) => {
      const subject = k % 10 < 7 ? { user: email(k % sizes.users) } : { group: groupName(k % sizes.groups) };
      const resource = k % 3 === 0 ? `${destination(k % sizes.destinations)}.ns-${k % 7}` : destination(k % sizes.destinations);
      return {
        apiVersion: `${group}/${version}`,
        kind: 'Grant',
        metadata: meta(`${run}-grant-${k}`),
        spec: { ...subject, role: roles[k % roles.length], resource },
      };
    }),
  };
}

/** RSS sampled a few times over ~2 s once settled; the median, and the peak so far. */
async function sampleMemory(pid: number): Promise<Memory> {
  const samples: Memory[] = [];
  for (let i = 0; i < 5; i++) {
    if (i > 0) await sleep(500);
    samples.push(await processMemory(pid));
  }
  return { rssMiB: median(samples.map((s) => s.rssMiB)), hwmMiB: Math.max(...samples.map((s) => s.hwmMiB)) };
}

async function measureOperator(
  ctx: BenchContext,
  namespace: string,
  sizes: Sizes,
  settle: Pick<SettleOptions, 'minimum' | 'isDone'>,
  label: string,
): Promise<Measured> {
  const start = performance.now();
  const op: RunningOperator = await operator(ctx, { namespace, identity: uniqueName('bench-operator') });
  const readyMs = performance.now() - start;
  const pid = op.process.pid!;
  let maxSockets = 0;
  const settled = await waitSettled(op.metricsURL, {
    ...settle,
    timeoutMs: sizes.settleTimeoutMs,
    onPoll: async () => void (maxSockets = Math.max(maxSockets, await openSockets(pid))),
    onProgress: (counts) => ctx.log(`${label}: reconciling… ${[...counts].map(([c, n]) => `${c} ${n}`).join(', ')}; ${maxSockets} sockets at most so far`),
  });
  const memory = await sampleMemory(pid);
  const heap = await heapFigures(op.metricsURL);
  await op.stop();
  const measured: Measured = {
    memory,
    ...heap,
    maxSockets,
    readyMs,
    settle: settled,
  };
  ctx.log(
    `${label}: ready in ${(readyMs / 1000).toFixed(1)} s, ${settled.settled ? 'settled' : 'NOT settled'} ${(settled.elapsedMs / 1000).toFixed(1)} s later; ` +
      `RSS ${memory.rssMiB.toFixed(0)} MiB, peak ${memory.hwmMiB.toFixed(0)} MiB; V8 heap ${measured.heapTotalMiB.toFixed(0)} MiB (used ${measured.heapUsedMiB.toFixed(0)}), ` +
      `external ${measured.externalMiB.toFixed(0)} MiB; up to ${maxSockets} sockets`,
  );
  return measured;
}

/** memorySplit, and the sockets: "V8 heap 120 MiB (used 90), external 30, rest … 160; up to 12 sockets open" */
function split(m: Measured): string {
  return `${memorySplit(m.memory.rssMiB, m)}; up to ${m.maxSockets} sockets open`;
}

export const operatorMemory: Scenario = {
  id: 'memory',
  title,
  async run(ctx) {
    const sizes: Sizes = ctx.quick
      ? { grants: 500, users: 50, destinations: 10, groups: 5, reps: 1, baselineReps: 1, settleTimeoutMs: 120_000 }
      : { grants: 10_000, users: 1_000, destinations: 50, groups: 20, reps: 2, baselineReps: 2, settleTimeoutMs: 900_000 };
    const ns = await ownNamespace(ctx, 'bench-memory');
    const run = uniqueName('bm');

    // Baseline: the operator against the hub as it is before our objects exist.
    const baseline: Measured[] = [];
    for (let i = 1; i <= sizes.baselineReps; i++) baseline.push(await measureOperator(ctx, ns, sizes, {}, `empty hub ${i}/${sizes.baselineReps}`));
    ctx.log(`empty hub: ${split(baseline[0]!)}`);

    const api = ctx.hub.makeApiClient(CustomObjectsApi);
    const all = objects(run, sizes);
    const selector = `bench.infrahq.com/run=${run}`;
    ctx.defer(async () => {
      for (const plural of Object.keys(all)) await api.deleteCollectionClusterCustomObject({ group, version, plural, labelSelector: selector });
    }, 300_000);
    const createStart = performance.now();
    for (const [plural, list] of Object.entries(all)) {
      await boundedLoad(list.length, createConcurrency, Infinity, (i) =>
        api.createClusterCustomObject({ group, version, plural, body: list[i]! }).then(() => undefined),
      );
    }
    const total = Object.values(all).reduce((n, list) => n + list.length, 0);
    ctx.log(`created ${total} objects in ${((performance.now() - createStart) / 1000).toFixed(1)} s (concurrency ${createConcurrency})`);

    // Each controller reconciles every key at least once after it starts; and the work is
    // done when no Grant of ours lacks the destination label the operator puts on it.
    const settle = {
      minimum: { grant: sizes.grants, user: sizes.users, group: sizes.groups, destination: sizes.destinations },
      isDone: async () => {
        const unlabelled = (await api.listClusterCustomObject({
          group,
          version,
          plural: 'grants',
          labelSelector: `${selector},!${destinationLabel}`,
          limit: 1,
        })) as { items: unknown[] };
        return unlabelled.items.length === 0;
      },
    };
    const first = await measureOperator(ctx, ns, sizes, settle, 'first reconcile');
    const restarts: Measured[] = [];
    for (let i = 1; i <= sizes.reps; i++) restarts.push(await measureOperator(ctx, ns, sizes, settle, `restart ${i}/${sizes.reps}`));

    const size = `${sizes.grants.toLocaleString('en-US')} grants, ${sizes.users.toLocaleString('en-US')} users`;
    const unsettled = [first, ...restarts].filter((m) => !m.settle.settled).length;
    const settledNote = unsettled > 0 ? `; ${unsettled} run(s) did NOT settle within ${sizes.settleTimeoutMs / 1000} s (measured anyway)` : '';
    const baselineRss = median(baseline.map((b) => b.memory.rssMiB));
    const baselineLabel = `the same operator on the hub before the objects were created (median of ${sizes.baselineReps}; ${split(baseline[0]!)})`;
    const target = { on: 'ours', op: '<', value: 512 } as const;
    return [
      {
        scenario: title,
        metric: `RSS, first reconcile (${size})`,
        unit: 'MiB',
        ours: first.memory.rssMiB,
        baseline: baselineRss,
        baselineLabel,
        target,
        note: `VmRSS once caches synced, every Grant labelled and the reconcile counters still for 2 s (median of 5 samples over 2 s); ${sizes.destinations} destinations, ${sizes.groups} groups; 70% user / 30% group subjects; ${split(first)}${settledNote}`,
      },
      {
        scenario: title,
        metric: `RSS, restart (${size})`,
        unit: 'MiB',
        ours: median(restarts.map((m) => m.memory.rssMiB)),
        baseline: baselineRss,
        baselineLabel,
        target,
        note: `a fresh operator against the already reconciled objects, median of ${sizes.reps}; ${split(restarts[0]!)}`,
      },
      {
        scenario: title,
        metric: `peak RSS, VmHWM (${size})`,
        unit: 'MiB',
        ours: Math.max(first.memory.hwmMiB, ...restarts.map((m) => m.memory.hwmMiB)),
        baseline: Math.max(...baseline.map((b) => b.memory.hwmMiB)),
        baselineLabel,
        target,
        note: 'highest VmHWM of all runs: what a container memory limit must allow',
      },
      {
        scenario: title,
        metric: `start → ready (${size})`,
        unit: 's',
        ours: median([first, ...restarts].map((m) => m.readyMs / 1000)),
        baseline: median(baseline.map((b) => b.readyMs / 1000)),
        baselineLabel,
        note: 'process spawn until /readyz (caches synced, signing keys loaded), median of all runs',
      },
      {
        scenario: title,
        metric: `ready → settled, first reconcile (${size})`,
        unit: 's',
        ours: first.settle.elapsedMs / 1000,
        note: 'until the last reconcile counter moved; the first operator labels and writes status on every object',
      },
    ] satisfies Row[];
  },
};
