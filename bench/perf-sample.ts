// What V8's worker threads spend their time on, sampled by `perf record`: optimizing
// compilation (TurboFan, Maglev) or garbage collection. A Node process's CPU beyond its event
// loop is mostly these threads, and the two differ in kind: compilation is a process's
// warm-up and recompiles after deoptimizations, garbage collection a cost of every request.
// Sampling a thread's run time in software (cpu-clock) needs no hardware counters, so it
// works on virtual machines where `perf stat -e instructions` does not; where perf cannot
// run at all, `workerSampling()` says why and the bench reports the threads' CPU time alone.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand } from '../hack/local-infra/command.ts';

/** The name (comm) of V8's platform worker threads in a Node process. */
const workerThreadName = 'V8Worker';
/** Samples per second of each thread's CPU time: fine enough for a few hundred ms of work. */
const frequency = 999;

export type WorkerActivity = 'compile' | 'gc' | 'other';

const compilation = /v8::internal::(compiler|maglev|baseline|turboshaft|wasm)::|OptimizingCompileDispatcher|OptimizedCompilationJob|v8::internal::Zone/;
const garbageCollection =
  /v8::internal::(heap::|Heap|Scaveng|MarkCompact|MinorMarkSweep|MinorMS|Marking|ConcurrentMarking|Sweeper|Evacuat|ArrayBufferSweeper|PagedSpace|MemoryAllocator|RememberedSet|SlotSet|MutablePageMetadata|PageMetadata|MemoryChunk|LargeObjectSpace|EphemeronTable|WeakObjects|GCTracer|BodyDescriptor|\w*BackingStore)|cppgc::/;

/** What a sampled function belongs to, by its V8 namespace or class; everything else (kernel, libc, locks) is "other". */
export function classifySymbol(symbol: string): WorkerActivity {
  if (compilation.test(symbol)) return 'compile';
  if (garbageCollection.test(symbol)) return 'gc';
  return 'other';
}

/** `perf report --stdio --sort sym` lines ("  12.34%  [.] symbol") summed by activity, as fractions of all samples. */
export function parsePerfReport(report: string): Record<WorkerActivity, number> {
  const shares: Record<WorkerActivity, number> = { compile: 0, gc: 0, other: 0 };
  for (const line of report.split('\n')) {
    const match = /^\s*([\d.]+)%\s+\[[.k]\]\s+(.*)$/.exec(line);
    if (match) shares[classifySymbol(match[2]!)] += Number(match[1]) / 100;
  }
  return shares;
}

/** undefined when `perf record` can sample a thread here; else why not, for the table's note. */
export async function workerSampling(): Promise<string | undefined> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-perf-'));
  try {
    const probe = await runCommand('perf', ['record', '-q', '-e', 'cpu-clock', '-F', String(frequency), '-o', join(dir, 'probe.data'), '--', 'true'], {
      timeoutMs: 10_000,
    });
    if (probe.code === 0) return undefined;
    return `perf record did not run (exit ${probe.code}): ${probe.stderr.trim().split('\n').at(-1) || 'not installed?'}`;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface WorkerSampler {
  /**
   * Stops sampling; resolves with the share of the samples each activity took (all zero
   * when there were none), or why there is none: a diagnostic never fails the scenario.
   */
  stop(): Promise<Record<WorkerActivity, number> | string>;
}

/** Samples the V8 worker threads of a running Node process until stop(). */
export async function sampleWorkers(pid: number): Promise<WorkerSampler> {
  const tids: string[] = [];
  for (const tid of await readdir(`/proc/${pid}/task`)) {
    const name = await readFile(`/proc/${pid}/task/${tid}/comm`, 'utf8').catch(() => '');
    if (name.trim() === workerThreadName) tids.push(tid);
  }
  if (tids.length === 0) return { stop: () => Promise.resolve(`process ${pid} has no ${workerThreadName} threads`) };
  const dir = await mkdtemp(join(tmpdir(), 'bench-perf-'));
  const data = join(dir, 'workers.data');
  const perf = spawn('perf', ['record', '-q', '-e', 'cpu-clock', '-F', String(frequency), '-t', tids.join(','), '-o', data], { stdio: 'ignore' });
  let failed: Error | undefined;
  const exited = new Promise<void>((resolve) => {
    perf.once('exit', () => resolve());
    perf.once('error', (error) => {
      failed = error;
      resolve();
    });
  });
  // perf needs a moment to attach before the caller's load starts.
  await new Promise((resolve) => setTimeout(resolve, 200));
  return {
    async stop() {
      perf.kill('SIGINT');
      try {
        await exited;
        if (failed) return `perf record did not run: ${failed.message}`;
        const report = await runCommand('perf', ['report', '-i', data, '--stdio', '--no-children', '--sort', 'sym', '-g', 'none'], { timeoutMs: 60_000 });
        if (report.code !== 0) return `perf report for process ${pid} failed (exit ${report.code}): ${report.stderr.trim().split('\n').at(-1)}`;
        return parsePerfReport(report.stdout);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}
