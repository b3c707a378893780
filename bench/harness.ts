// What a scenario gets from the bench and the helpers they share: the running control
// plane, the mode, cleanups that also run on Ctrl-C, kubectl, bounded load loops, and
// the operator's process figures (RSS, reconcile counters).
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KubeConfig } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { userKubeconfig, type ControlPlane } from '../hack/controlplane/controlplane.ts';
import { hashPassword } from '../operator/credentials/passwords.ts';
import { startInfra, type Infra } from '../hack/local-infra/infra.ts';
import { proxyThreadName } from '../connector/proxy/thread.ts';
import { startOperator, type OperatorOptions, type RunningOperator, type RunningProgram } from '../hack/local-infra/programs.ts';
import { asError, errorChain } from '../lib/errors.ts';
import { percent, percentile, type Row } from './table.ts';

export interface Scenario {
  /** Short id, for `--only <id>` and log lines. */
  id: string;
  /** Shown in the table's first column. */
  title: string;
  /**
   * The spoke's API server takes --authentication-config from a file the scenario writes
   * (ctx.spokeAuthenticationConfig, with no JWT issuer at first); `ctx.controlPlane.restart('spoke')`
   * reads it anew.
   */
  spokeAuthenticationConfig?: true;
  run(ctx: BenchContext): Promise<Row[]>;
}

export interface BenchContext {
  quick: boolean;
  /** The scenario's own hub and spoke, fresh (bench/main.ts); stopped after its other cleanups. */
  controlPlane: ControlPlane;
  hubKubeconfig: string;
  hub: KubeConfig;
  spokeKubeconfig: string;
  spoke: KubeConfig;
  /** The spoke's authentication config, for a scenario that asks for one. */
  spokeAuthenticationConfig?: string;
  /** Registers a cleanup; it runs when the scenario ends, or on Ctrl-C. LIFO; bounded (30 s unless timeoutMs). */
  defer(cleanup: () => Promise<void> | void, timeoutMs?: number): void;
  /** Progress for the person watching (stderr); the table is the result. */
  log: (message: string) => void;
}

/** Cleanups in LIFO order, run at most once, each bounded, failures logged not thrown. */
export class Cleanups {
  private readonly stack: { name: string; run: () => Promise<void> | void; timeoutMs: number | undefined }[] = [];

  /** `timeoutMs` overrides runAll's default bound for this one (e.g. deleting thousands of objects). */
  add(name: string, run: () => Promise<void> | void, timeoutMs?: number): void {
    this.stack.push({ name, run, timeoutMs });
  }

  /** `maxTimeoutMs` caps every bound, so Ctrl-C never waits minutes. */
  async runAll(defaultTimeoutMs = 30_000, maxTimeoutMs = Infinity): Promise<void> {
    while (this.stack.length > 0) {
      const { name, run, timeoutMs: own } = this.stack.pop()!;
      const timeoutMs = Math.min(own ?? defaultTimeoutMs, maxTimeoutMs);
      try {
        await Promise.race([
          Promise.resolve().then(run),
          sleep(timeoutMs, undefined, { ref: false }).then(() => {
            throw new Error(`timed out after ${timeoutMs} ms`);
          }),
        ]);
      } catch (err) {
        process.stderr.write(`bench: cleanup ${name} failed: ${(err as Error).message}\n`);
      }
    }
  }
}

/** A DNS-label name no other run uses. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString('hex')}`;
}

/** The real kubectl against the hub; throws with kubectl's stderr on failure. */
export function kubectl(kubeconfig: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile('kubectl', ['--kubeconfig', kubeconfig, ...args], { maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`kubectl ${args.join(' ')} failed: ${stderr.trim() || error.message}`));
      else resolve(stdout);
    });
    child.stdin!.end(input ?? '');
  });
}

/** A namespace of the scenario's own in the hub. */
export async function ownNamespace(ctx: BenchContext, prefix: string): Promise<string> {
  const ns = uniqueName(prefix);
  await kubectl(ctx.hubKubeconfig, ['create', 'namespace', ns]);
  return ns;
}

/** Starts infra-operator (info logging, as in production) and stops it when the scenario ends. */
export async function operator(ctx: BenchContext, options: Omit<OperatorOptions, 'kubeconfig'>): Promise<RunningOperator> {
  const running = await startOperator({ kubeconfig: ctx.hubKubeconfig, ...options, config: { logLevel: 'info', ...options.config } });
  reportCrash(ctx, running);
  ctx.defer(() => running.stop());
  return running;
}

/**
 * Starts a scenario's baseline program (`bench/<script>`, e.g. bare-proxy.ts) as a process of
 * its own, so its CPU and memory are read from /proc like the program it stands beside. The
 * config goes to it as a JSON file (0600: it holds keys); the program prints {"port": N}
 * once it listens on 127.0.0.1. Stopped when the scenario ends.
 */
export async function baselineProcess<Config>(
  ctx: BenchContext,
  script: string,
  config: Config,
  nodeArgs: readonly string[] = [],
): Promise<{ port: number; pid: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-baseline-'));
  ctx.defer(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'config.json');
  await writeFile(file, JSON.stringify(config), { mode: 0o600 });
  const child = spawn(process.execPath, [...nodeArgs, join(import.meta.dirname, script), file], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = once(child, 'exit');
  ctx.defer(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill();
    await exited;
  });
  const [line] = (await Promise.race([
    once(createInterface({ input: child.stdout }), 'line'),
    exited.then(([code]) => Promise.reject(new Error(`bench/${script} exited with ${code} before listening`))),
  ])) as [string];
  return { port: (JSON.parse(line) as { port: number }).port, pid: child.pid! };
}

/**
 * Operator and connector for a fresh destination, as hack/local-infra/infra.ts installs them (the
 * connector's hub identity from its bootstrap credential, as `infra destinations add` makes it), at the production log level
 * unless `logLevel` says debug (the lines a scenario reads steps from); stopped when the scenario ends.
 */
export async function infra(
  ctx: BenchContext,
  destination: string,
  { asServiceAccount = false, logLevel = 'info' }: { asServiceAccount?: boolean; logLevel?: 'debug' | 'info' } = {},
): Promise<Infra> {
  const namespace = uniqueName('bench-infra');
  const operatorKubeconfig = asServiceAccount ? await serviceAccountKubeconfig(ctx, namespace) : undefined;
  const running = await startInfra({
    hubKubeconfig: ctx.hubKubeconfig,
    spokeKubeconfig: ctx.spokeKubeconfig,
    ...(operatorKubeconfig ? { operatorKubeconfig } : {}),
    namespace,
    destination,
    logLevel,
  });
  reportCrash(ctx, running.operator, ...running.connectors);
  ctx.defer(() => running.stop());
  return running;
}

/** Logs each program that ends before the scenario stops it, with its last lines: the scenario's own error only says a request failed. */
export function reportCrash(ctx: BenchContext, ...programs: RunningProgram[]): void {
  for (const program of programs) void program.crashed.then((report) => ctx.log(`CRASHED: ${report}`));
}

/**
 * A hub kubeconfig that names the operator as in a cluster, system:serviceaccount:<namespace>:infra-operator
 * (a client certificate, in system:masters): the identity the hub's admission policy for
 * AccessRequests lets write their status.
 */
async function serviceAccountKubeconfig(ctx: BenchContext, namespace: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-operator-identity-'));
  ctx.defer(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'kubeconfig');
  const hub = ctx.controlPlane.state.clusters.hub;
  await writeFile(path, await userKubeconfig(hub, `system:serviceaccount:${namespace}:infra-operator`, ['system:masters']), { mode: 0o600 });
  return path;
}

/**
 * The kubelet's probes of a program in a cluster, as config/connector/deployment.yaml sets
 * them: `/readyz` every 5 s and `/healthz` every 10 s, from now until the scenario ends.
 * A deployed program answers them all its life; without them the bench's own first scrape
 * of `/metrics` was the first plain-HTTP request the process served in minutes, and sent
 * part of Node's server code, optimized for the proxy's TLS connections alone, back to
 * unoptimized code in the seconds that were being measured (bench/README.md, Session 27).
 */
export function kubeletProbes(ctx: BenchContext, healthURL: string): void {
  const probe = (path: string) => () =>
    void fetch(`${healthURL}${path}`, { signal: AbortSignal.timeout(1_000) })
      .then((res) => res.arrayBuffer())
      .catch(() => undefined); // nothing acts on a probe here: a program in trouble fails the scenario's own requests
  const timers = [setInterval(probe('/readyz'), 5_000).unref(), setInterval(probe('/healthz'), 10_000).unref()];
  ctx.defer(() => timers.forEach(clearInterval));
}

/** The operator's serving CA (the public door's certificate chains to it). */
export async function operatorCA(ctx: BenchContext, namespace: string): Promise<string> {
  const b64 = await kubectl(ctx.hubKubeconfig, ['get', 'secret', '-n', namespace, 'infra-operator-ca', '-o', 'jsonpath={.data.tls\\.crt}']);
  return Buffer.from(b64, 'base64').toString();
}

/**
 * Calls fn(i) for i = 0, 1, … with at most `concurrency` calls in flight, until `count`
 * calls have started or `deadline` (a Date.now() value) has passed. Resolves with how
 * many calls completed; rejects with the first failure once the calls in flight settle.
 */
export async function boundedLoad(count: number, concurrency: number, deadline: number, fn: (i: number) => Promise<void>): Promise<number> {
  let next = 0;
  let completed = 0;
  let failure: Error | undefined;
  const worker = async () => {
    while (failure === undefined && next < count && Date.now() < deadline) {
      const i = next++;
      try {
        await fn(i);
        completed++;
      } catch (err) {
        failure ??= asError(err);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  if (failure !== undefined) throw failure;
  return completed;
}

/**
 * Open-loop load at a fixed rate: call i is due `i / rate` seconds after the start and
 * begins then, whether or not earlier calls have finished (at most `maxInFlight` at once).
 * fn(due, i) gets the time (performance.now()) call i was due: a latency measured from it counts
 * any wait for a slot or a late timer, so a slow server cannot slow the arrivals down and
 * hide its own queue, as it does under a closed loop (coordinated omission). Bounded by
 * count and deadline; resolves with how many calls completed; rejects with the first
 * failure once the calls in flight settle.
 */
export async function pacedLoad(
  rate: number,
  count: number,
  deadline: number,
  maxInFlight: number,
  fn: (due: number, i: number) => Promise<void>,
): Promise<number> {
  const start = performance.now();
  const inFlight = new Set<Promise<void>>();
  let completed = 0;
  let failure: Error | undefined;
  for (let i = 0; i < count && failure === undefined && Date.now() < deadline; i++) {
    const due = start + (i * 1000) / rate;
    // Timers count whole milliseconds and may fire up to one early: a call never starts before it is due.
    for (let early = due - performance.now(); early > 0; early = due - performance.now()) await sleep(Math.ceil(early));
    while (inFlight.size >= maxInFlight) await Promise.race(inFlight);
    const call: Promise<void> = fn(due, i).then(
      () => void completed++,
      (err: unknown) => void (failure ??= asError(err)),
    );
    inFlight.add(call);
    void call.finally(() => inFlight.delete(call));
  }
  await Promise.all(inFlight);
  if (failure !== undefined) throw failure;
  return completed;
}

export interface Memory {
  rssMiB: number;
  hwmMiB: number;
}

/** VmRSS (resident now) and VmHWM (peak resident) of a process, from /proc. */
export async function processMemory(pid: number): Promise<Memory> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kB = (field: string) => {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    if (!match) throw new Error(`/proc/${pid}/status has no ${field}`);
    return Number(match[1]) / 1024;
  };
  return { rssMiB: kB('VmRSS'), hwmMiB: kB('VmHWM') };
}

/** CPU time a process has used so far (ms): all its threads, and the thread that serves requests alone. */
export interface ProcessCpu {
  all: number;
  /**
   * The thread whose event loop serves requests: the connector's proxy thread (named
   * `infra-proxy`, ADR 32) where the process has one, else the thread whose id is the
   * process id (Node's main event loop, Go's first M). The rest of `all` is the other
   * threads': V8's garbage-collection and compiler helpers, libuv's pool, and in the
   * connector its main thread (its controllers and health endpoints).
   */
  serving: number;
}

/**
 * CPU time a process has used so far, in ms: the run time of each of its threads as the
 * scheduler counts it, in nanoseconds (/proc/<pid>/task/<tid>/schedstat). /proc/<pid>/stat
 * gives user + system time in 10 ms units, which put ±10 ms on every reading, ~5% of one
 * batch of the proxy scenario's CPU phase; it is the fallback where the kernel has no
 * schedstat. A thread that exits between two readings takes its time with it; the
 * processes measured here keep theirs (V8's and libuv's workers, Go's Ms).
 */
export async function processThreadsCpuMs(pid: number): Promise<ProcessCpu> {
  const tids = await readdir(`/proc/${pid}/task`);
  const comms = await Promise.all(tids.map((tid) => threadFile(pid, tid, 'comm')));
  const serving = tids[comms.indexOf(`${proxyThreadName}\n`)] ?? String(pid);
  if (!schedstat) {
    const [all, servingMs] = await Promise.all([statCpuMs(`/proc/${pid}/stat`), statCpuMs(`/proc/${pid}/task/${serving}/stat`)]);
    return { all, serving: servingMs };
  }
  const runNs = await Promise.all(tids.map((tid) => threadFile(pid, tid, 'schedstat').then((line) => Number(line.split(' ')[0] || 0))));
  return { all: runNs.reduce((a, b) => a + b, 0) / 1e6, serving: (runNs[tids.indexOf(serving)] ?? 0) / 1e6 };
}

/** A file of /proc/<pid>/task/<tid>/; empty when the thread ended after the listing. */
function threadFile(pid: number, tid: string, name: 'schedstat' | 'comm'): Promise<string> {
  return readFile(`/proc/${pid}/task/${tid}/${name}`, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return '';
    throw error;
  });
}

/** The CPU time a process used between two readings of processThreadsCpuMs. */
export function cpuBetween(before: ProcessCpu, after: ProcessCpu): ProcessCpu {
  return { all: after.all - before.all, serving: after.serving - before.serving };
}

/** CPU time a process has used so far, in ms, all its threads (processThreadsCpuMs). */
export async function processCpuMs(pid: number): Promise<number> {
  return (await processThreadsCpuMs(pid)).all;
}

/** CPU time several processes have used so far together, in ms (processCpuMs). */
export async function processesCpuMs(pids: readonly number[]): Promise<number> {
  return (await Promise.all(pids.map(processCpuMs))).reduce((a, b) => a + b, 0);
}

/** User + system time (ms) from a /proc stat file, a process's or a thread's. */
async function statCpuMs(path: string): Promise<number> {
  // utime and stime are fields 14 and 15.
  const fields = statFields(await readFile(path, 'utf8'));
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicks;
}

/** The fields of a /proc/<pid>/stat line after the parenthesised command name: the 3rd field is at [0]. */
export function statFields(stat: string): string[] {
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** Whether this kernel reports each thread's run time (CONFIG_SCHED_INFO). */
const schedstat = existsSync('/proc/self/schedstat');

/** Kernel clock ticks per second (USER_HZ): 100 on every Linux this runs on. */
export const clockTicks = 100;

/** Busy and total CPU time of the whole machine so far, in ms, from /proc/stat. */
export async function machineCpuMs(): Promise<{ busy: number; total: number }> {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0]!;
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const busy = user! + nice! + system! + irq! + softirq! + steal!;
  return { busy: (busy * 1000) / clockTicks, total: ((busy + idle! + iowait!) * 1000) / clockTicks };
}

/**
 * Waits (up to `timeoutMs`) for a second in which the machine is less than `maxBusy`
 * busy — call it while the scenario itself is idle, so other work on a shared machine
 * does not land in a measurement. Not in a quick run, whose figures do not count.
 */
export async function waitForQuiet(ctx: BenchContext, maxBusy = 0.2, timeoutMs = 60_000): Promise<void> {
  if (ctx.quick) return;
  const deadline = Date.now() + timeoutMs;
  let warned = false;
  for (;;) {
    const before = await machineCpuMs();
    await sleep(1000);
    const after = await machineCpuMs();
    const busy = (after.busy - before.busy) / (after.total - before.total);
    if (busy < maxBusy || Date.now() > deadline) {
      if (busy >= maxBusy) ctx.log(`the machine stayed ${percent(busy)} busy for ${timeoutMs / 1000} s; measuring anyway`);
      return;
    }
    if (!warned) ctx.log(`the machine is ${percent(busy)} busy with other work; waiting up to ${timeoutMs / 1000} s for it to calm down`);
    warned = true;
  }
}

/** What waitForIdle saw. */
export interface Idleness {
  /** Every group used less than its `maxCpuMs` in one window before the bound. */
  idle: boolean;
  waitedMs: number;
}

/** Processes that must be quiet together before a timed action, and how quiet. */
export interface QuietGroup {
  /** Who they are, for a row's note: "the operator and connector together". */
  whose: string;
  pids: readonly number[];
  /** The CPU they may use together in one window, in ms. */
  maxCpuMs: number;
}

/** The window and bound of waitForIdle, for scenarios to quote in their notes. */
export const idleDefaults = { windowMs: 50, timeoutMs: 2000 } as const;

/** Infra's own programs: quiet means done with the previous action (its status writes, a collection). */
export function programsQuiet(whose: string, pids: readonly number[]): QuietGroup {
  return { whose, pids, maxCpuMs: 0.5 };
}

/**
 * The control plane's processes (API servers, etcd, controller managers). Idle, they use
 * ~2 ms of CPU per 50 ms together (p90 3.3 ms: leases, bookmarks, controllers' resyncs);
 * an API server still answering the previous action's watches, or collecting garbage
 * after its writes, uses several times that.
 */
function controlPlaneQuiet(ctx: BenchContext): QuietGroup {
  return { whose: "the control plane's API servers, etcd and controller managers", pids: ctx.controlPlane.state.processes.map((p) => p.pid), maxCpuMs: 5 };
}

/** What a timed kubectl against an installation waits for: its operator and connector idle, and the control plane under them. */
export function infraQuiet(ctx: BenchContext, installed: Pick<Infra, 'operator' | 'connector'>): QuietGroup[] {
  return [programsQuiet('the operator and connector together', [installed.operator.process.pid!, installed.connector.process.pid!]), controlPlaneQuiet(ctx)];
}

/**
 * Waits until every group of processes uses less than its `maxCpuMs` of CPU in the same
 * `windowMs` window (a process's threads all counted, processThreadsCpuMs), or `timeoutMs`
 * passes. A scenario timing one action calls it first, so that what the processes were
 * still doing about the previous one (a trailing status write, a collection) does not
 * share the cores with this one's kubectl.
 */
export async function waitForIdle(groups: readonly QuietGroup[], options: Partial<Record<keyof typeof idleDefaults, number>> = {}): Promise<Idleness> {
  const { windowMs, timeoutMs } = { ...idleDefaults, ...options };
  const started = performance.now();
  const used = () => Promise.all(groups.map((g) => processesCpuMs(g.pids)));
  let before = await used();
  for (;;) {
    await sleep(windowMs);
    const after = await used();
    const waitedMs = performance.now() - started;
    if (groups.every((g, i) => after[i]! - before[i]! < g.maxCpuMs)) return { idle: true, waitedMs };
    if (waitedMs >= timeoutMs) return { idle: false, waitedMs };
    before = after;
  }
}

/**
 * What a row's note says about the waits before its timed actions: the condition
 * waitForIdle checked on each group, and how long the waits were.
 */
export function idlenessNote(idleness: readonly Idleness[], groups: readonly QuietGroup[]): string {
  const waited = idleness.map((i) => i.waitedMs);
  const bounded = idleness.filter((i) => !i.idle).length;
  const conditions = groups.map((g) => `${g.whose} had used < ${g.maxCpuMs} ms of CPU`).join(' and ');
  return (
    `started once ${conditions} in the same ${idleDefaults.windowMs} ms: ` +
    `a wait of ${percentile(waited, 50).toFixed(0)} ms at p50, ${percentile(waited, 99).toFixed(0)} ms at p99` +
    (bounded > 0 ? `; ${bounded} of ${idleness.length} waits reached the ${idleDefaults.timeoutMs / 1000} s bound with the processes still busy` : '')
  );
}

/** The unlabelled samples of a Prometheus text exposition (e.g. nodejs_heap_size_used_bytes). */
export function unlabelledSamples(text: string): Map<string, number> {
  return new Map([...text.matchAll(/^([a-zA-Z_:][a-zA-Z0-9_:]*) (\S+)$/gm)].map((m) => [m[1]!, Number(m[2])]));
}

/** The unlabelled samples of a program's /metrics. */
export async function plainMetrics(metricsURL: string): Promise<Map<string, number>> {
  return unlabelledSamples(await (await fetch(`${metricsURL}/metrics`)).text());
}

/** A Node program's memory as V8 sees it (prom-client's default metrics on its /metrics), to tell JS heap from native memory. */
export interface HeapFigures {
  heapTotalMiB: number;
  heapUsedMiB: number;
  externalMiB: number;
}

export async function heapFigures(metricsURL: string): Promise<HeapFigures> {
  const metrics = await plainMetrics(metricsURL);
  const mib = (name: string) => (metrics.get(name) ?? NaN) / 2 ** 20;
  return {
    heapTotalMiB: mib('nodejs_heap_size_total_bytes'),
    heapUsedMiB: mib('nodejs_heap_size_used_bytes'),
    externalMiB: mib('nodejs_external_memory_bytes'),
  };
}

/** "V8 heap 120 MiB (used 90), external 30, rest (native, code, stacks) 160" */
export function memorySplit(rssMiB: number, heap: HeapFigures): string {
  const native = rssMiB - heap.heapTotalMiB - heap.externalMiB;
  return `V8 heap ${heap.heapTotalMiB.toFixed(0)} MiB (used ${heap.heapUsedMiB.toFixed(0)}), external ${heap.externalMiB.toFixed(0)}, rest (native, code, stacks) ${native.toFixed(0)}`;
}

/** How many sockets (TCP connections, listeners, pipes to us) a process holds open. */
export async function openSockets(pid: number): Promise<number> {
  const fds = await readdir(`/proc/${pid}/fd`).catch(() => []);
  const links = await Promise.all(fds.map((fd) => readlink(`/proc/${pid}/fd/${fd}`).catch(() => '')));
  return links.filter((l) => l.startsWith('socket:')).length;
}

/** A metric of a program's /metrics summed by controller: infra_reconcile_total (by default) or infra_reconcile_duration_seconds_sum. */
export async function sumByController(metricsURL: string, metric = 'infra_reconcile_total'): Promise<Map<string, number>> {
  const text = await (await fetch(`${metricsURL}/metrics`)).text();
  const counts = new Map<string, number>();
  for (const match of text.matchAll(new RegExp(`^${metric}\\{([^}]*)\\} (\\S+)$`, 'gm'))) {
    const controller = /controller="([^"]*)"/.exec(match[1]!)?.[1] ?? '';
    counts.set(controller, (counts.get(controller) ?? 0) + Number(match[2]));
  }
  return counts;
}

export interface SettleResult {
  settled: boolean;
  /** From the call until the counters last changed (or the bound). */
  elapsedMs: number;
  counts: Map<string, number>;
}

export interface SettleOptions {
  /** Reconciles each controller must have done, at least (every key once). */
  minimum?: Record<string, number>;
  /** How long the counters must stand still. */
  quietMs?: number;
  timeoutMs: number;
  pollMs?: number;
  /** Asked once the counters are quiet: is the work really done (e.g. every object labelled)? */
  isDone?: () => Promise<boolean>;
  /** Called on every poll (e.g. to sample the process). */
  onPoll?: () => Promise<void>;
  onProgress?: (counts: Map<string, number>) => void;
  /** Where a failed scrape is reported (the scenario's log). */
  log: (message: string) => void;
}

/** Scrapes of /metrics that may fail in a row before waitSettled gives up on the process. */
const settleScrapeAttempts = 3;

/**
 * Waits until the operator has reconciled at least `minimum[controller]` keys of each
 * controller named there, its reconcile counters have not moved for `quietMs`, and
 * `isDone` agrees; gives up (settled: false) after `timeoutMs`.
 */
export async function waitSettled(metricsURL: string, options: SettleOptions): Promise<SettleResult> {
  const { minimum = {}, quietMs = 2000, timeoutMs, pollMs = 250 } = options;
  const start = Date.now();
  let last = '';
  let lastChange = start;
  let lastProgress = start;
  let counts = new Map<string, number>();
  let failedScrapes = 0;
  while (Date.now() - start < timeoutMs) {
    try {
      counts = await sumByController(metricsURL);
      failedScrapes = 0;
    } catch (err) {
      // A scrape of a live process can fail (a keep-alive connection closed under it):
      // like Prometheus, skip it. A process that is gone fails every one.
      if (++failedScrapes >= settleScrapeAttempts) throw new Error(`${metricsURL}/metrics failed ${failedScrapes} times in a row`, { cause: err });
      options.log(`${metricsURL}/metrics failed (${failedScrapes} of ${settleScrapeAttempts} in a row), polling on: ${errorChain(err)}`);
      await sleep(pollMs);
      continue;
    }
    await options.onPoll?.();
    const now = Date.now();
    const key = JSON.stringify([...counts].sort());
    if (key !== last) {
      last = key;
      lastChange = now;
    }
    const enough = Object.entries(minimum).every(([controller, n]) => (counts.get(controller) ?? 0) >= n);
    if (enough && now - lastChange >= quietMs) {
      if (!options.isDone || (await options.isDone())) return { settled: true, elapsedMs: lastChange - start, counts };
      lastChange = Date.now(); // quiet but not done: a worker may be stuck in a slow call; keep waiting
    }
    if (options.onProgress && now - lastProgress >= 10_000) {
      lastProgress = now;
      options.onProgress(counts);
    }
    await sleep(pollMs);
  }
  return { settled: false, elapsedMs: Date.now() - start, counts };
}

/** Wall time of spawning a command and waiting for it to exit, in ms. */
export function timeSpawn(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(command, args, { stdio: 'ignore', env });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(performance.now() - start) : reject(new Error(`${command} exited with ${code}`))));
  });
}

export interface BenchUser {
  email: string;
  password: string;
  group: string;
  destination: string;
}

/**
 * A built-in user (password Secret in the operator namespace) in a Group that holds
 * view on a fresh Destination: what a login and a token request need.
 */
export async function userWithGrant(ctx: BenchContext, namespace: string): Promise<BenchUser> {
  const destination = uniqueName('bench-dest');
  const group = uniqueName('bench-sre');
  const email = `${uniqueName('bench-user')}@example.com`;
  const password = 'correct horse battery staple';
  await kubectl(ctx.hubKubeconfig, ['create', 'secret', 'generic', 'bench-password', '-n', namespace, `--from-literal=hash=${await hashPassword(password)}`]);
  const objects = [
    { apiVersion: 'infrahq.com/v1alpha1', kind: 'Destination', metadata: { name: destination }, spec: { kind: 'kubernetes' } },
    { apiVersion: 'infrahq.com/v1alpha1', kind: 'Group', metadata: { name: group }, spec: { members: [email] } },
    { apiVersion: 'infrahq.com/v1alpha1', kind: 'Grant', metadata: { name: `${group}-view` }, spec: { group, role: 'view', resource: destination } },
    {
      apiVersion: 'infrahq.com/v1alpha1',
      kind: 'User',
      metadata: { name: uniqueName('bench-user') },
      spec: { email, passwordSecretRef: { name: 'bench-password', key: 'hash' } },
    },
  ];
  await kubectl(ctx.hubKubeconfig, ['apply', '-f', '-'], objects.map((o) => stringify(o)).join('---\n'));
  return { email, password, group, destination };
}
