// Connector proxy throughput and added latency. A user whose Grant gives view on one
// namespace GETs one ConfigMap there, with a real token from the operator, through
// (a) the connector's proxy: token verification, impersonation;
// (b) the baseline, a bare express + http-proxy-middleware proxy (bench/bare-proxy.ts):
//     the same upstream credentials and impersonation header, no token verification;
// (c) the spoke's API server directly, with the admin certificate and the same
//     impersonation header: the request every proxy adds its overhead to.
// Each is a process of its own; each client is a keep-alive HTTPS agent. The connector
// is probed as the kubelet probes it in a cluster (kubeletProbes), all scenario long.
// - Throughput: 16 requests in flight, a closed loop that saturates the machine; the
//   three take turns within every repetition.
// - Added latency (a door's p99 minus the direct p99) under load: 100 requests per second
//   to each door, an open loop (a request starts when due and its latency counts from
//   then), and one request at a time. In both the three doors are interleaved request by
//   request, so a slow moment of the machine falls on all three alike instead of on
//   whichever door had its turn.
// - Each added p99 with a target comes with a 90% interval (a block bootstrap over the
//   seconds of each repetition), and the verdict holds only if it holds over the whole
//   interval: on two shared cores the API server's own p99 wanders by milliseconds, and a
//   difference of two p99s is only as precise as the samples make it.
// - The p99 of the saturated closed loop is reported too, without a target: there a
//   door's mean latency is 16 in flight / its throughput (Little's law), so the
//   throughput row already judges it.
// - CPU per request: each proxy's CPU time (its threads' run time, /proc) over fixed batches of
//   requests, the proxies taking turns batch by batch; ours ÷ the bare proxy's, with a
//   90% interval over the batches. The bare proxy runs with the connector's Node flags (its
//   heap caps), as the token scenario's bare door runs with the operator's: the row compares
//   the proxies' code in the same runtime. A second bare proxy on Node's default heap takes
//   its turns too, for what those caps cost (a row without a target). A process's CPU time
//   barely moves when the machine is busy, so this decides what the p99 rows cannot. Where
//   `perf stat` can read the CPU's counters, instructions per request too. Where `perf record` can sample threads, what
//   V8's worker threads did meanwhile (compiling, collecting garbage): the part of the CPU
//   time that moves most from one run to the next.
import { Agent, type AgentOptions } from 'node:https';
import { stringify } from 'yaml';
import { upstreamFromKubeConfig } from '../../connector/proxy/upstream.ts';
import { createCertificateAuthority } from '../../lib/pki.ts';
import { https } from '../../hack/local-infra/https.ts';
import { eventually } from '../../hack/local-infra/programs.ts';
import { commandLineFlags, nodeFlags, proxyThreadV8Flags } from '../../lib/node-flags.ts';
import type { BareProxyConfig } from '../bare-proxy.ts';
import { sampleWorkers, workerSampling, type WorkerActivity, type WorkerSampler } from '../perf-sample.ts';
import { countInstructions, instructionCounting, type InstructionCounter } from '../perf-stat.ts';
import {
  baselineProcess,
  boundedLoad,
  cpuBetween,
  infra,
  kubeletProbes,
  pacedLoad,
  kubectl,
  machineCpuMs,
  processThreadsCpuMs,
  sumByController,
  uniqueName,
  type ProcessCpu,
  waitForQuiet,
  type Scenario,
} from '../harness.ts';
import { blockBootstrap, mean, median, percent, percentile, type Row } from '../table.ts';

const title = 'Connector proxy';
const concurrency = 16;
/**
 * Requests per second to each door in the open-loop phase: a busy team's kubectl, k9s and
 * CI traffic through one connector, and well below what any door here saturates at.
 */
const ratePerDoor = 100;
/** The open loop's cap on requests in flight: far above what the rate needs, it only stops a runaway queue. */
const maxInFlight = 256;
/**
 * The runtime of the connector's proxy thread (lib/node-flags.ts: the connector's flags, and
 * the thread's own young generation after them, which V8 takes over the first), which the
 * bare proxy runs with too: the CPU row compares the proxies' code, not their heap
 * settings, whose cost has a row of its own.
 */
const connectorRuntime = [...nodeFlags.connector, ...proxyThreadV8Flags, ...commandLineFlags.connector];

/** Requests in flight in the CPU phase: a few kubectl at once, well below saturation. */
const cpuInFlight = 4;

interface Target {
  name: string;
  url: string;
  agent: Agent;
  headers: Record<string, string>;
  /** The serving process, for its CPU time; absent for the API server. */
  pid?: number;
}

interface Load {
  rate: number;
  latencies: number[];
  /** The serving process's CPU time over these requests (ms), all its threads and its serving thread (ProcessCpu). */
  cpu?: ProcessCpu;
}

/** GET through one door; every answer must be a 200. */
async function get(target: Target): Promise<void> {
  const res = await https(target.url, { agent: target.agent, headers: target.headers });
  if (res.status !== 200) throw new Error(`${target.name}: GET ${target.url} answered ${res.status}: ${res.text}`);
}

/** Up to `count` GETs, `inFlight` at a time, for at most `seconds`; every answer must be a 200. */
async function load(target: Target, count: number, inFlight: number, seconds: number): Promise<Load> {
  const latencies: number[] = [];
  const before = target.pid === undefined ? undefined : await processThreadsCpuMs(target.pid);
  const start = performance.now();
  const done = await boundedLoad(count, inFlight, Date.now() + seconds * 1000, async () => {
    const sent = performance.now();
    await get(target);
    latencies.push(performance.now() - sent);
  });
  const rate = done / ((performance.now() - start) / 1000);
  if (target.pid === undefined || before === undefined) return { rate, latencies };
  return { rate, latencies, cpu: cpuBetween(before, await processThreadsCpuMs(target.pid)) };
}

/** One proxy's CPU time over one batch of its requests. */
interface BatchCpu {
  cpu: ProcessCpu;
  requests: number;
}

/** One batch of the CPU phase: each proxy's CPU time over its requests. */
type CpuBatch = Map<Target, BatchCpu>;

/** CPU per request of `target` over batches: all its threads, or (`part`) the serving thread's or the others'. */
function cpuPerRequest(batches: readonly CpuBatch[], target: Target, part: 'all' | 'serving' | 'others' = 'all'): number {
  const sum = (f: (b: BatchCpu) => number) => batches.reduce((total, batch) => total + f(batch.get(target)!), 0);
  const ms = { all: (b: BatchCpu) => b.cpu.all, serving: (b: BatchCpu) => b.cpu.serving, others: (b: BatchCpu) => b.cpu.all - b.cpu.serving }[part];
  return sum(ms) / sum((b) => b.requests);
}

/** `targets` rotated by `by`: whoever went first last time goes last. */
function rotated<T>(targets: readonly T[], by: number): T[] {
  return targets.map((_, i) => targets[(i + by) % targets.length]!);
}

/**
 * `batches` batches of `perBatch` requests to each proxy, `cpuInFlight` at a time, the
 * proxies taking turns (which goes first rotates); each proxy's CPU time over each batch.
 */
async function cpuBatches(proxies: readonly Target[], batches: number, perBatch: number, seconds: number): Promise<CpuBatch[]> {
  const result: CpuBatch[] = [];
  for (let b = 0; b < batches; b++) {
    const batch: CpuBatch = new Map();
    for (const target of rotated(proxies, b)) {
      const measured = await load(target, perBatch, cpuInFlight, seconds);
      batch.set(target, { cpu: measured.cpu!, requests: measured.latencies.length });
    }
    result.push(batch);
  }
  return result;
}

type Latencies = Map<Target, number[]>;
/**
 * One interleaved phase of one repetition: the latencies of the requests started (or due)
 * in each second, by door. A second is the bootstrap's block.
 */
type Seconds = Latencies[];

/** The latencies of every second of a phase together. */
function pooled(seconds: Seconds, targets: Target[]): Latencies {
  return new Map(targets.map((t) => [t, seconds.flatMap((second) => second.get(t)!)]));
}

/** Request i goes to door i mod the number of doors; its latency, counted from `from`, goes into `into` under its second. */
function interleaved(targets: Target[], into: Seconds): (from: number, i: number) => Promise<void> {
  const start = performance.now();
  return async (from, i) => {
    const target = targets[i % targets.length]!;
    await get(target);
    const latency = performance.now() - from;
    (into[Math.floor((from - start) / 1000)] ??= new Map(targets.map((t) => [t, []]))).get(target)!.push(latency);
  };
}

/** Up to `perDoor` GETs to each door, taking turns request by request, one at a time; for at most `seconds`. */
async function interleavedSequential(targets: Target[], perDoor: number, seconds: number): Promise<Seconds> {
  const into: Seconds = [];
  const request = interleaved(targets, into);
  await boundedLoad(perDoor * targets.length, 1, Date.now() + seconds * 1000, (i) => request(performance.now(), i));
  return into.filter(Boolean);
}

/** `ratePerDoor` GETs per second to each door, taking turns request by request, for `seconds`; latency from when each was due. */
async function interleavedPaced(targets: Target[], seconds: number): Promise<Seconds> {
  const into: Seconds = [];
  const rate = ratePerDoor * targets.length;
  await pacedLoad(rate, rate * seconds, Date.now() + (seconds + 10) * 1000, maxInFlight, interleaved(targets, into));
  return into.filter(Boolean);
}

export const connectorProxy: Scenario = {
  id: 'proxy',
  title,
  async run(ctx) {
    const sizes = ctx.quick
      ? {
          warmup: 200,
          reps: 1,
          count: 1000,
          seconds: 5,
          pacedSeconds: 5,
          sequential: 200,
          sequentialSeconds: 5,
          cpuWarmupBatches: 1,
          cpuBatches: 2,
          cpuBatch: 200,
        }
      : // A batch of 1,000 requests is ~0.2 s of a proxy's CPU. One at a time, 5,000 requests
        // per door and rep (~15 s) give the interval of the added p99 ~15 seconds to redraw per
        // rep; 1,000 (~3 s) left it three, and an interval as wide as the row's target. At
        // 100 req/s, 60 s per rep left the interval ~1 ms wide, astride the 2 ms target in
        // every run; 150 s narrows it by about the square root of 2.5.
        {
          warmup: 2000,
          reps: 3,
          count: 20_000,
          seconds: 10,
          pacedSeconds: 150,
          sequential: 15_000,
          sequentialSeconds: 40,
          cpuWarmupBatches: 40,
          cpuBatches: 20,
          cpuBatch: 1000,
        };
    const destination = uniqueName('bench-proxy');
    const installed = await infra(ctx, destination);
    kubeletProbes(ctx, installed.connector.metricsURL);

    // A ConfigMap the user may read through a Grant of view on its namespace.
    const namespace = uniqueName('bench-proxy');
    await kubectl(ctx.spokeKubeconfig, ['create', 'namespace', namespace]);
    await kubectl(ctx.spokeKubeconfig, ['create', 'configmap', 'bench', '-n', namespace, '--from-literal=key=value']);
    const email = `${uniqueName('bench-proxy')}@example.com`;
    const password = 'correct horse battery staple';
    await installed.addUser(email, password);
    const grant = uniqueName('bench-proxy');
    await kubectl(
      ctx.hubKubeconfig,
      ['apply', '-f', '-'],
      stringify({
        apiVersion: 'infrahq.com/v1alpha1',
        kind: 'Grant',
        metadata: { name: grant },
        spec: { user: email, role: 'view', resource: `${destination}.${namespace}` },
      }),
    );

    const path = `/api/v1/namespaces/${namespace}/configmaps/bench`;
    const upstream = await upstreamFromKubeConfig(ctx.spoke);
    const proxyCA = Buffer.from(await kubectl(ctx.hubKubeconfig, ['get', 'destination', destination, '-o', 'jsonpath={.spec.caBundle}']), 'base64').toString();
    const bareCA = await createCertificateAuthority('bench-bare-proxy');
    const bareConfig: BareProxyConfig = {
      upstream: { server: upstream.server, ca: String(upstream.ca), cert: String(upstream.cert), key: String(upstream.key) },
      tls: await bareCA.issue({ commonName: 'localhost', usage: 'server', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] }),
      impersonateUser: email,
    };
    const bare = await baselineProcess(ctx, 'bare-proxy.ts', bareConfig, connectorRuntime);
    const bareOnDefaultHeap = await baselineProcess(ctx, 'bare-proxy.ts', bareConfig);
    const agent = (options: Pick<AgentOptions, 'ca' | 'cert' | 'key'>) => {
      const a = new Agent({ keepAlive: true, maxSockets: concurrency, ...options });
      ctx.defer(() => a.destroy());
      return a;
    };
    const ours: Target = {
      name: 'connector proxy',
      url: `${installed.connector.proxyURL}${path}`,
      agent: agent({ ca: proxyCA }),
      headers: {},
      pid: installed.connector.process.pid!,
    };
    const bareTarget = (name: string, { port, pid }: { port: number; pid: number }): Target => ({
      name,
      url: `https://127.0.0.1:${port}${path}`,
      agent: agent({ ca: bareCA.cert }),
      headers: {},
      pid,
    });
    const baseline = bareTarget('bare proxy', bare);
    const baselineOnDefaultHeap = bareTarget('bare proxy on the default heap', bareOnDefaultHeap);
    /** The proxies whose CPU per request is measured, in the same batches. */
    const proxies = [ours, baseline, baselineOnDefaultHeap];
    const direct: Target = {
      name: 'API server',
      url: `${upstream.server}${path}`,
      agent: agent({ ca: upstream.ca, cert: upstream.cert, key: upstream.key }),
      headers: { 'impersonate-user': email },
    };
    const targets = [ours, baseline, direct];
    /** A fresh token (they live 5 minutes) for every proxy; the bare ones drop it. */
    const refreshToken = async () => {
      const authorization = `Bearer ${await installed.token(email, password)}`;
      for (const proxy of proxies) proxy.headers.authorization = authorization;
    };
    await refreshToken();
    // The Grant reaches the spoke through the operator and the connector.
    await eventually(() => load(ours, 1, 1, 5), 60_000, 200);

    ctx.log(`warm-up: ${sizes.warmup} requests each`);
    for (const target of targets) await load(target, sizes.warmup, concurrency, sizes.seconds);
    // The connector's path has more code on it than the bare proxy's, and V8 takes about
    // 40,000 requests to optimize all of it (bench/README.md, Session 25): every phase
    // measures the steady state a long-running proxy is in, after each has served that many.
    await refreshToken();
    ctx.log(`CPU warm-up: ${sizes.cpuWarmupBatches} batches of ${sizes.cpuBatch} requests each`);
    const cpuWarmup = await cpuBatches(proxies, sizes.cpuWarmupBatches, sizes.cpuBatch, sizes.seconds);
    const loaded = new Map(targets.map((t) => [t, [] as Load[]]));
    const atRate: Seconds[] = [];
    const sequential: Seconds[] = [];
    /** The same phases with each repetition's seconds pooled, door by door. */
    const atRateRuns: Latencies[] = [];
    const sequentialRuns: Latencies[] = [];
    const machine: number[] = [];
    const cpuRuns: CpuBatch[][] = [];
    const cpuMachine: number[] = [];
    const noInstructions = await instructionCounting();
    const instructions = new Map<Target, number>([
      [ours, 0],
      [baseline, 0],
    ]);
    const noWorkerSampling = await workerSampling();
    /** By rep, the share of each proxy's V8 worker-thread samples spent compiling, collecting garbage, or else. */
    const workerShares = new Map<Target, (Record<WorkerActivity, number> | string)[]>([
      [ours, []],
      [baseline, []],
    ]);
    /** Keys the connector's controllers reconciled during each rep's CPU batches: its work beside the proxy's. */
    const reconcilesMeanwhile: number[] = [];
    const reconciles = async () => [...(await sumByController(installed.connector.metricsURL)).values()].reduce((a, b) => a + b, 0);
    for (let rep = 0; rep < sizes.reps; rep++) {
      await waitForQuiet(ctx);
      await refreshToken();
      // Each repetition starts with another of the three, so a slow moment does not always hit the same one.
      const turns = [...targets.slice(rep % 3), ...targets.slice(0, rep % 3)];
      const before = await machineCpuMs();
      for (const target of turns) loaded.get(target)!.push(await load(target, sizes.count, concurrency, sizes.seconds));
      const after = await machineCpuMs();
      machine.push((after.busy - before.busy) / (after.total - before.total));
      await waitForQuiet(ctx);
      // Tokens live 5 minutes: the paced and one-at-a-time phases alone take over 3.
      await refreshToken();
      atRate.push(await interleavedPaced(turns, sizes.pacedSeconds));
      sequential.push(await interleavedSequential(turns, Math.ceil(sizes.sequential / sizes.reps), sizes.sequentialSeconds));
      atRateRuns.push(pooled(atRate.at(-1)!, targets));
      sequentialRuns.push(pooled(sequential.at(-1)!, targets));
      await waitForQuiet(ctx);
      // On a busy machine the phases above and the waits between them can outlast the token's 5 minutes.
      await refreshToken();
      const counters: [Target, InstructionCounter][] =
        noInstructions === undefined
          ? await Promise.all([ours, baseline].map(async (t) => [t, await countInstructions(t.pid!)] as [Target, InstructionCounter]))
          : [];
      const samplers: [Target, WorkerSampler][] =
        noWorkerSampling === undefined ? await Promise.all([ours, baseline].map(async (t) => [t, await sampleWorkers(t.pid!)] as [Target, WorkerSampler])) : [];
      const reconcilesBefore = await reconciles();
      const cpuBefore = await machineCpuMs();
      cpuRuns.push(await cpuBatches(rotated(proxies, rep), sizes.cpuBatches, sizes.cpuBatch, sizes.seconds));
      const cpuAfter = await machineCpuMs();
      cpuMachine.push((cpuAfter.busy - cpuBefore.busy) / (cpuAfter.total - cpuBefore.total));
      reconcilesMeanwhile.push((await reconciles()) - reconcilesBefore);
      for (const [t, counter] of counters) instructions.set(t, instructions.get(t)! + (await counter.stop()));
      for (const [t, sampler] of samplers) workerShares.get(t)!.push(await sampler.stop());
      ctx.log(
        `rep ${rep + 1}/${sizes.reps}: ${targets.map((t) => `${t.name} ${loaded.get(t)!.at(-1)!.rate.toFixed(0)} req/s`).join(', ')}; machine ${percent(machine.at(-1)!)} busy; ` +
          `p99 at ${ratePerDoor} req/s: ${targets.map((t) => `${percentile(atRateRuns.at(-1)!.get(t)!, 99).toFixed(2)} ms`).join(', ')}; ` +
          `CPU per request: ${proxies.map((t) => `${t.name} ${cpuPerRequest(cpuRuns.at(-1)!, t).toFixed(3)} ms`).join(', ')}`,
      );
    }

    const rate = (t: Target) => median(loaded.get(t)!.map((l) => l.rate));
    const saturated: Latencies[] = loaded.get(ours)!.map((_, rep) => new Map(targets.map((t) => [t, loaded.get(t)![rep]!.latencies])));
    // Within a repetition a door's percentile minus the direct one (in the interleaved
    // phases the doors saw the same moments of the machine); over the repetitions the
    // median, as for throughput, so one repetition in which the whole machine stalled does
    // not decide.
    const p = (run: Latencies, t: Target, q: number) => percentile(run.get(t)!, q);
    const added = (runs: Latencies[], t: Target, q: number) => median(runs.map((run) => p(run, t, q) - p(run, direct, q)));
    /** How precisely the connector's added p99 is known from these seconds: the same statistic over redrawn seconds. */
    const addedP99Interval = (runs: Seconds[]) =>
      blockBootstrap(runs, (redrawn) =>
        added(
          redrawn.map((run) => pooled(run, [ours, direct])),
          ours,
          99,
        ),
      );
    const cpu = (t: Target) => median(loaded.get(t)!.map((l) => l.cpu!.all / l.latencies.length));
    const requests = (runs: Latencies[]) => runs.reduce((n, run) => n + run.get(ours)!.length, 0).toLocaleString('en-US');
    const latencies = (runs: Latencies[], q: number) => targets.map((t) => `${t.name} ${runs.map((run) => p(run, t, q).toFixed(2)).join(' / ')} ms`).join(', ');
    const bareCpu = `the bare express + http-proxy-middleware proxy in the runtime of the connector's proxy thread (${connectorRuntime.join(' ')}), in the same batches`;
    const bareAdded = 'the bare express + http-proxy-middleware proxy, same measurement (its p99 minus the direct p99)';
    const target = { on: 'ours', op: '<=', value: 2 } as const;
    const atRateLabel = `${ratePerDoor} req/s`;
    /** CPU per request of `of` ÷ that of `against`, over the batches of `runs`. */
    const cpuRatio = (runs: CpuBatch[][], against = baseline, of = ours) => cpuPerRequest(runs.flat(), of) / cpuPerRequest(runs.flat(), against);
    const byRep = (t: Target, part: 'serving' | 'others') => cpuRuns.map((run) => cpuPerRequest(run, t, part).toFixed(3)).join(' / ');
    /** Where a proxy's CPU went: its event loop, and the other threads (V8's garbage-collection and compiler helpers, libuv's pool). */
    const threadSplit = (t: Target) => `${t.name} serving thread ${byRep(t, 'serving')}, other threads ${byRep(t, 'others')}`;
    const workerSplit = (t: Target) =>
      `${t.name} ${workerShares
        .get(t)!
        .map((shares) =>
          typeof shares === 'string' ? `not sampled (${shares})` : `${percent(shares.compile)} / ${percent(shares.gc)} / ${percent(shares.other)}`,
        )
        .join(', ')}`;
    const workerNote =
      noWorkerSampling === undefined
        ? `other threads' samples (perf record -e cpu-clock of V8's worker threads over the batches) by rep, compiling / collecting garbage / else (kernel, allocator): ${workerSplit(ours)}; ${workerSplit(baseline)}; `
        : `other threads not sampled: ${noWorkerSampling}; `;
    const cpuRequests = (t: Target) => cpuRuns.flat().reduce((n, batch) => n + batch.get(t)!.requests, 0);
    const instructionRows: Row[] =
      noInstructions === undefined
        ? [
            {
              scenario: title,
              metric: 'instructions per request',
              unit: '',
              ours: instructions.get(ours)! / cpuRequests(ours),
              baseline: instructions.get(baseline)! / cpuRequests(baseline),
              baselineLabel: bareCpu,
              note: 'perf stat -e instructions attached to each proxy over the CPU batches (their idle turns included: an idle proxy retires next to none)',
            },
          ]
        : [];
    const intervalNote = '(low–high) after ours: 90% interval, the same statistic over the seconds of each rep redrawn 1,000 times';
    return [
      {
        scenario: title,
        metric: `throughput, ${concurrency} in flight`,
        unit: 'req/s',
        ours: rate(ours),
        baseline: rate(baseline),
        baselineLabel: 'a bare express + http-proxy-middleware proxy: same upstream credentials and impersonation, no token verification',
        target: { on: 'ratio', op: '>=', value: 0.8 },
        note:
          `GET of one ConfigMap, allowed by a Grant of view on its namespace; median of ${sizes.reps} reps (bound ${sizes.count.toLocaleString('en-US')} requests or ${sizes.seconds} s each) after ${sizes.warmup} warm-up; ` +
          `the API server directly: ${rate(direct).toFixed(0)} req/s; CPU per request: connector ${cpu(ours).toFixed(2)} ms, bare proxy ${cpu(baseline).toFixed(2)} ms; ` +
          `machine ${percent(median(machine))} busy during the reps (client, proxies, API server and anything else)`,
      },
      {
        scenario: title,
        metric: 'CPU per request',
        unit: 'ms',
        ours: cpuPerRequest(cpuRuns.flat(), ours),
        baseline: cpuPerRequest(cpuRuns.flat(), baseline),
        baselineLabel: bareCpu,
        target: { on: 'ratio', op: '<=', value: 1.1 },
        interval: { ...blockBootstrap(cpuRuns, cpuRatio), on: 'ratio' },
        note:
          `CPU time of each proxy process (its threads' run time, /proc/<pid>/task/<tid>/schedstat) over ${sizes.reps} reps of ${sizes.cpuBatches} batches of ${sizes.cpuBatch.toLocaleString('en-US')} requests to each, ` +
          `${cpuInFlight} in flight, the ${proxies.length} proxies taking turns batch by batch (the bare proxy on the default heap, next row, the third); ratio by rep: ${cpuRuns.map((run) => percent(cpuRatio([run]))).join(' / ')}; ` +
          `by thread, ms per request by rep: ${threadSplit(ours)}; ${threadSplit(baseline)}; ` +
          `after a warm-up of ${sizes.cpuWarmupBatches} such batches to each (during it: connector proxy ${cpuPerRequest(cpuWarmup, ours).toFixed(3)} ms, bare proxy ${cpuPerRequest(cpuWarmup, baseline).toFixed(3)} ms per request, ${percent(cpuRatio([cpuWarmup]))}); ` +
          `serving threads alone: ${percent(cpuPerRequest(cpuRuns.flat(), ours, 'serving') / cpuPerRequest(cpuRuns.flat(), baseline, 'serving'))}; ${workerNote}` +
          `keys the connector's controllers reconciled meanwhile, by rep: ${reconcilesMeanwhile.join(' / ')}; ` +
          `(low–high) after the ratio: 90% interval, the ratio over the batches of each rep redrawn 1,000 times; machine ${percent(median(cpuMachine))} busy meanwhile; ` +
          (noInstructions === undefined ? 'instructions per request in the next row' : `no instructions per request: ${noInstructions}`),
      },
      {
        scenario: title,
        metric: 'CPU per request vs a bare proxy on the default heap',
        unit: 'ms',
        ours: cpuPerRequest(cpuRuns.flat(), ours),
        baseline: cpuPerRequest(cpuRuns.flat(), baselineOnDefaultHeap),
        baselineLabel: "the same bare proxy on Node's default heap (no flags), in the same batches",
        interval: { ...blockBootstrap(cpuRuns, (runs) => cpuRatio(runs, baselineOnDefaultHeap)), on: 'ratio' },
        note:
          `no target: what the connector's heap caps cost any proxy, the bare one under them against itself on the default heap: ` +
          `${percent(cpuRatio(cpuRuns, baselineOnDefaultHeap, baseline))}, by rep ` +
          `${cpuRuns.map((run) => percent(cpuRatio([run], baselineOnDefaultHeap, baseline))).join(' / ')}; ` +
          `by thread, ms per request by rep: ${threadSplit(baselineOnDefaultHeap)}; the caps are what keep the connector's cold-sync peak near 150 MiB (lib/node-flags.ts)`,
      },
      ...instructionRows,
      {
        scenario: title,
        metric: `added latency p99, ${atRateLabel}`,
        unit: 'ms',
        ours: added(atRateRuns, ours, 99),
        baseline: added(atRateRuns, baseline, 99),
        baselineLabel: bareAdded,
        target,
        interval: addedP99Interval(atRate),
        note:
          `${atRateLabel} to each of the three at once, interleaved request by request (open loop: a request starts when due and its latency counts from then); ` +
          `${sizes.reps} reps of ${sizes.pacedSeconds} s, ${requests(atRateRuns)} requests through the connector; p99 by rep: ${latencies(atRateRuns, 99)}; ${intervalNote}`,
      },
      {
        scenario: title,
        metric: `added latency p50, ${atRateLabel}`,
        unit: 'ms',
        ours: added(atRateRuns, ours, 50),
        baseline: added(atRateRuns, baseline, 50),
        baselineLabel: bareAdded,
        note: `p50 by rep: ${latencies(atRateRuns, 50)}`,
      },
      {
        scenario: title,
        metric: 'added latency p50, one at a time',
        unit: 'ms',
        ours: added(sequentialRuns, ours, 50),
        baseline: added(sequentialRuns, baseline, 50),
        baselineLabel: bareAdded,
        note: `${requests(sequentialRuns)} requests each, one at a time, the three interleaved; p50 by rep: ${latencies(sequentialRuns, 50)}`,
      },
      {
        scenario: title,
        metric: 'added latency p99, one at a time',
        unit: 'ms',
        ours: added(sequentialRuns, ours, 99),
        baseline: added(sequentialRuns, baseline, 99),
        baselineLabel: bareAdded,
        target,
        interval: addedP99Interval(sequential),
        note: `p99 by rep: ${latencies(sequentialRuns, 99)}; ${intervalNote}`,
      },
      {
        scenario: title,
        metric: `added latency p99, saturated (${concurrency} in flight)`,
        unit: 'ms',
        ours: added(saturated, ours, 99),
        baseline: added(saturated, baseline, 99),
        baselineLabel: bareAdded,
        note:
          `over the throughput reps (${requests(saturated)} requests through the connector); p99 by rep: ${latencies(saturated, 99)}; ` +
          `no target: mean latency ${targets.map((t) => `${t.name} ${mean(loaded.get(t)!.flatMap((l) => l.latencies)).toFixed(1)} ms`).join(', ')}, ` +
          `${concurrency} in flight / throughput ${targets.map((t) => `${((concurrency / rate(t)) * 1000).toFixed(1)} ms`).join(', ')} (Little's law): queueing set by throughput, which the throughput row judges`,
      },
    ] satisfies Row[];
  },
};
