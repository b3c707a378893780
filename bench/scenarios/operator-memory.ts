// Operator memory with many Grants and Users: the operator caches every Grant, User,
// Group and Destination of the hub (informers with indexes), so its resident memory
// grows with them. Baseline: the same operator against the same hub before the objects
// exist. Measured after the caches have synced and reconciling has finished.
import { CustomObjectsApi } from '@kubernetes/client-node';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RunningOperator } from '../../hack/local-infra/programs.ts';
import { destinationLabel } from '../../api/grants.ts';
import { nodeFlags } from '../../lib/node-flags.ts';
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
/** Its own title: --merge replaces a scenario's rows by title, and the two run apart. */
const largeTitle = 'Operator memory, large hub';
const group = 'infrahq.com';
const version = 'v1alpha1';
const createConcurrency = 32;
const roles = ['view', 'edit', 'admin', 'logs'] as const;
/**
 * BENCH_HEAP_SNAPSHOTS=<dir>: each operator also writes a V8 heap snapshot there once it
 * has settled and been measured (summarize one with `node bench/heap-snapshot.ts <file>`).
 */
const heapSnapshotDir = process.env.BENCH_HEAP_SNAPSHOTS;

interface Sizes {
  grants: number;
  users: number;
  destinations: number;
  groups: number;
  /** Fresh operators measured after the first one (which does the reconcile writes). */
  reps: number;
  baselineReps: number;
  settleTimeoutMs: number;
  /** Node flags in place of the shipped ones (lib/node-flags.ts). */
  nodeFlags?: readonly string[];
}

interface Measured extends HeapFigures {
  memory: Memory;
  /** V8's heap spaces by name (new, old, code, large_object, …): size and used, MiB. */
  spaces: Map<string, { sizeMiB: number; usedMiB: number }>;
  /** Most sockets the process held open at once while settling (connections to the hub, mostly). */
  maxSockets: number;
  readyMs: number;
  settle: { settled: boolean; elapsedMs: number };
}

type Plural = 'destinations' | 'groups' | 'users' | 'grants';

/**
 * The objects, by plural, in the order they are created, with names unique to this run and
 * a label to find them by; each made when it is sent, so 100,000 are never held at once.
 */
function objects(run: string, sizes: Sizes): { plural: Plural; count: number; name: (i: number) => string; make: (i: number) => object }[] {
  const labels = { 'bench.infrahq.com/run': run };
  const meta = (name: string) => ({ name, labels });
  const email = (i: number) => `user-${i}.${run}@example.com`;
  const destination = (i: number) => `${run}-dest-${i}`;
  const groupName = (i: number) => `${run}-team-${i}`;
  const userName = (i: number) => `${run}-user-${i}`;
  const grantName = (k: number) => `${run}-grant-${k}`;
  const object = (kind: string, name: string, spec: object) => ({ apiVersion: `${group}/${version}`, kind, metadata: meta(name), spec });
  return [
    { plural: 'destinations', count: sizes.destinations, name: destination, make: (i) => object('Destination', destination(i), { kind: 'kubernetes' }) },
    // Every user in one built-in group (round robin).
    {
      plural: 'groups',
      count: sizes.groups,
      name: groupName,
      make: (g) =>
        object('Group', groupName(g), {
          members: Array.from({ length: Math.ceil((sizes.users - g) / sizes.groups) }, (_, k) => email(g + k * sizes.groups)),
        }),
    },
    { plural: 'users', count: sizes.users, name: userName, make: (i) => object('User', userName(i), { email: email(i) }) },
    // 70% to a user, 30% to a group; a third of them on one namespace; four roles.
    {
      plural: 'grants',
      count: sizes.grants,
      name: grantName,
      make: (k) => {
        const subject = k % 10 < 7 ? { user: email(k % sizes.users) } : { group: groupName(k % sizes.groups) };
        const resource = k % 3 === 0 ? `${destination(k % sizes.destinations)}.ns-${k % 7}` : destination(k % sizes.destinations);
        return object('Grant', grantName(k), { ...subject, role: roles[k % roles.length], resource });
      },
    },
  ];
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
  const op: RunningOperator = await operator(ctx, {
    namespace,
    identity: uniqueName('bench-operator'),
    ...(sizes.nodeFlags ? { nodeFlags: sizes.nodeFlags } : {}),
    ...(heapSnapshotDir ? { env: { NODE_OPTIONS: `--heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${heapSnapshotDir}` } } : {}),
  });
  const readyMs = performance.now() - start;
  const pid = op.process.pid!;
  let maxSockets = 0;
  const settled = await waitSettled(op.metricsURL, {
    ...settle,
    timeoutMs: sizes.settleTimeoutMs,
    log: ctx.log,
    onPoll: async () => void (maxSockets = Math.max(maxSockets, await openSockets(pid))),
    onProgress: (counts) => ctx.log(`${label}: reconciling… ${[...counts].map(([c, n]) => `${c} ${n}`).join(', ')}; ${maxSockets} sockets at most so far`),
  });
  const memory = await sampleMemory(pid);
  const heap = await heapFigures(op.metricsURL);
  const spaces = await heapSpaces(op.metricsURL);
  if (heapSnapshotDir) await writeHeapSnapshot(ctx, op, label);
  await op.stop();
  const measured: Measured = {
    memory,
    ...heap,
    spaces,
    maxSockets,
    readyMs,
    settle: settled,
  };
  ctx.log(
    `${label}: ready in ${(readyMs / 1000).toFixed(1)} s, ${settled.settled ? 'settled' : 'NOT settled'} ${(settled.elapsedMs / 1000).toFixed(1)} s later; ` +
      `RSS ${memory.rssMiB.toFixed(0)} MiB, peak ${memory.hwmMiB.toFixed(0)} MiB; ${split(measured)}`,
  );
  return measured;
}

/** Signals the operator to write a heap snapshot and waits until the file is complete. */
async function writeHeapSnapshot(ctx: BenchContext, op: RunningOperator, label: string): Promise<void> {
  const before = new Set(await readdir(heapSnapshotDir!));
  op.process.kill('SIGUSR2');
  // Node writes the file under its final name as it goes: done when its size stops growing.
  for (let last = -1, deadline = Date.now() + 300_000; Date.now() < deadline;) {
    await sleep(1000);
    const file = (await readdir(heapSnapshotDir!)).find((f) => f.endsWith('.heapsnapshot') && !before.has(f));
    if (!file) continue;
    const { size } = await stat(join(heapSnapshotDir!, file));
    if (size > 0 && size === last) return ctx.log(`${label}: heap snapshot ${join(heapSnapshotDir!, file)}`);
    last = size;
  }
  ctx.log(`${label}: no heap snapshot within 300 s in ${heapSnapshotDir}`);
}

/** nodejs_heap_space_size_{total,used}_bytes from the program's /metrics (prom-client's default metrics). */
async function heapSpaces(metricsURL: string): Promise<Measured['spaces']> {
  const text = await (await fetch(`${metricsURL}/metrics`)).text();
  const spaces: Measured['spaces'] = new Map();
  for (const [, kind, space, bytes] of text.matchAll(/^nodejs_heap_space_size_(total|used)_bytes\{space="([^"]+)"\} (\S+)$/gm)) {
    const figures = spaces.get(space!) ?? { sizeMiB: 0, usedMiB: 0 };
    figures[kind === 'total' ? 'sizeMiB' : 'usedMiB'] = Number(bytes) / 2 ** 20;
    spaces.set(space!, figures);
  }
  return spaces;
}

/** memorySplit, and the sockets: "V8 heap 120 MiB (used 90), external 30, rest … 160; up to 12 sockets open" */
function split(m: Measured): string {
  const spaces = ['new', 'old', 'large_object', 'code']
    .filter((name) => m.spaces.has(name))
    .map((name) => `${name} ${m.spaces.get(name)!.sizeMiB.toFixed(0)} (used ${m.spaces.get(name)!.usedMiB.toFixed(0)})`);
  return `${memorySplit(m.memory.rssMiB, m)}; heap spaces ${spaces.join(', ')}; up to ${m.maxSockets} sockets open`;
}

/** "10,000 grants, 1,000 users" */
const sizeLabel = (sizes: Sizes) => `${sizes.grants.toLocaleString('en-US')} grants, ${sizes.users.toLocaleString('en-US')} users`;

/**
 * Creates the objects and returns what tells that a first
 * reconcile of them is done: each controller has reconciled every key at least once since
 * it started, and no Grant of ours lacks the destination label the operator puts on it.
 */
async function populate(ctx: BenchContext, sizes: Sizes): Promise<{ settle: Pick<SettleOptions, 'minimum' | 'isDone'>; createdInS: number }> {
  const api = ctx.hub.makeApiClient(CustomObjectsApi);
  const run = uniqueName('bm');
  const all = objects(run, sizes);
  const selector = `bench.infrahq.com/run=${run}`;
  const createStart = performance.now();
  for (const { plural, count, make } of all) {
    await boundedLoad(count, createConcurrency, Infinity, (i) =>
      api.createClusterCustomObject({ group, version, plural, body: make(i) }).then(() => undefined),
    );
  }
  const createdInS = (performance.now() - createStart) / 1000;
  const total = all.reduce((n, { count }) => n + count, 0);
  ctx.log(`created ${total} objects in ${createdInS.toFixed(1)} s (concurrency ${createConcurrency})`);
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
  return { settle, createdInS };
}

const settledNote = (runs: Measured[], sizes: Sizes) => {
  const unsettled = runs.filter((m) => !m.settle.settled).length;
  return unsettled > 0 ? `; ${unsettled} run(s) did NOT settle within ${sizes.settleTimeoutMs / 1000} s (measured anyway)` : '';
};

/** The issue's target (issue 26): what a 256 MiB request must hold at 10,000 Grants. */
const target = { on: 'ours', op: '<=', value: 256 } as const;

export const operatorMemory: Scenario = {
  id: 'memory',
  title,
  async run(ctx) {
    const sizes: Sizes = ctx.quick
      ? { grants: 500, users: 50, destinations: 10, groups: 5, reps: 1, baselineReps: 1, settleTimeoutMs: 120_000 }
      : { grants: 10_000, users: 1_000, destinations: 50, groups: 20, reps: 2, baselineReps: 2, settleTimeoutMs: 1_800_000 };
    const ns = await ownNamespace(ctx, 'bench-memory');

    // Baseline: the operator against the hub as it is before our objects exist.
    const baseline: Measured[] = [];
    for (let i = 1; i <= sizes.baselineReps; i++) baseline.push(await measureOperator(ctx, ns, sizes, {}, `empty hub ${i}/${sizes.baselineReps}`));
    ctx.log(`empty hub: ${split(baseline[0]!)}`);

    const { settle } = await populate(ctx, sizes);
    const first = await measureOperator(ctx, ns, sizes, settle, 'first reconcile');
    const restarts: Measured[] = [];
    for (let i = 1; i <= sizes.reps; i++) restarts.push(await measureOperator(ctx, ns, sizes, settle, `restart ${i}/${sizes.reps}`));

    const size = sizeLabel(sizes);
    const baselineRss = median(baseline.map((b) => b.memory.rssMiB));
    const baselineLabel = `the same operator on the hub before the objects were created (median of ${sizes.baselineReps}; ${split(baseline[0]!)})`;
    return [
      {
        scenario: title,
        metric: `RSS, first reconcile (${size})`,
        unit: 'MiB',
        ours: first.memory.rssMiB,
        baseline: baselineRss,
        baselineLabel,
        target,
        note: `VmRSS once caches synced, every Grant labelled and the reconcile counters still for 2 s (median of 5 samples over 2 s); ${sizes.destinations} destinations, ${sizes.groups} groups; 70% user / 30% group subjects; ${split(first)}${settledNote([first, ...restarts], sizes)}`,
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

/**
 * The same at ten times the Grants, first reconcile only: how the operator scales past the
 * size it is sized for. Runs last in a full run: it is the longest.
 */
const largeHubNodeFlags = ['--max-old-space-size=512', '--max-semi-space-size=2'];

export const operatorMemoryLarge: Scenario = {
  id: 'memory-large',
  title: largeTitle,
  async run(ctx) {
    const sizes: Sizes = ctx.quick
      ? { grants: 500, users: 50, destinations: 10, groups: 5, reps: 0, baselineReps: 0, settleTimeoutMs: 120_000 }
      : {
          grants: 100_000,
          users: 1_000,
          destinations: 50,
          groups: 20,
          reps: 0,
          baselineReps: 0,
          settleTimeoutMs: 3_600_000,
          // The shipped cap (256 MiB) is sized for 10,000 Grants; a hub ten times larger raises it (docs/operator.md).
          nodeFlags: largeHubNodeFlags,
        };
    const ns = await ownNamespace(ctx, 'bench-memory-large');
    const scenarioStart = performance.now();
    const { settle, createdInS } = await populate(ctx, sizes);
    const first = await measureOperator(ctx, ns, sizes, settle, 'first reconcile');
    const took = `the scenario took ${((performance.now() - scenarioStart) / 60_000).toFixed(1)} min, ${(createdInS / 60).toFixed(1)} of them creating the objects`;
    const size = sizeLabel(sizes);
    return [
      {
        scenario: largeTitle,
        metric: `peak RSS, VmHWM, first reconcile (${size})`,
        unit: 'MiB',
        ours: first.memory.hwmMiB,
        note: `VmHWM of the operator that labels and writes status on every object, read once settled; node ${(sizes.nodeFlags ?? nodeFlags.operator).join(' ')}; ${split(first)}${settledNote([first], sizes)}; ${took}`,
      },
      {
        scenario: largeTitle,
        metric: `ready → settled, first reconcile (${size})`,
        unit: 's',
        ours: first.settle.elapsedMs / 1000,
        note: `caches synced after ${(first.readyMs / 1000).toFixed(1)} s; until the last reconcile counter moved`,
      },
    ] satisfies Row[];
  },
};
