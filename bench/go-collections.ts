// When a Go program (the hub's kube-apiserver) collected garbage, on the wall clock: from
// the line the Go runtime prints per collection with GODEBUG=gctrace=1, which the local
// control plane sets for the bench (hack/controlplane, `gcTrace`). A scenario can then
// tell which of its samples met a collection (bench/README.md, Session 41).
import { readFile } from 'node:fs/promises';
import { clockTicks, statFields } from './harness.ts';
import { percent, percentile } from './table.ts';

/** One garbage collection, in ms since the epoch: from its start to the end of its mark termination. */
export interface Collection {
  start: number;
  end: number;
}

// gc 12 @34.567s 2%: 0.11+20+0.05 ms clock, 0.2+1.1/9.7/0+0.1 ms cpu, 40->41->20 MB, 42 MB goal, 0 MB stacks, 0 MB globals, 2 P
const gctraceLine = /^gc (\d+) @(\d+(?:\.\d+)?)s \d+%: ([\d.+]+) ms clock,/;

/**
 * The collections a gctrace log names, placed on the wall clock: each line gives its
 * collection's number, its start in seconds since the process started, and its phases'
 * wall times. A log appended to by several runs of the program (a relaunch) holds their
 * lines one run after another; only the last run's, from its collection 1 on, belong to
 * the process that started at `processStartMs`.
 */
export function collectionsFromTrace(log: string, processStartMs: number): Collection[] {
  const traced = log.split('\n').flatMap((line) => {
    const match = gctraceLine.exec(line);
    return match ? [match] : [];
  });
  const lastRun = traced.findLastIndex((match) => match[1] === '1');
  return traced.slice(Math.max(lastRun, 0)).map((match) => {
    const start = processStartMs + Number(match[2]) * 1000;
    const phasesMs = match[3]!.split('+').reduce((sum, phase) => sum + Number(phase), 0);
    return { start, end: start + phasesMs };
  });
}

/**
 * When a process started, in ms since the epoch (±10 ms): its start in clock ticks after
 * boot (/proc/<pid>/stat), and the boot on the wall clock from /proc/uptime, which, unlike
 * /proc/stat's btime, is finer than a second.
 */
export async function processStartMs(pid: number): Promise<number> {
  const [stat, uptime] = await Promise.all([readFile(`/proc/${pid}/stat`, 'utf8'), readFile('/proc/uptime', 'utf8')]);
  const bootMs = Date.now() - Number(uptime.split(' ')[0]) * 1000;
  // starttime is field 22.
  const startTicks = Number(statFields(stat)[19]);
  return bootMs + startTicks * (1000 / clockTicks);
}

/** The collections of a process whose log has its gctrace lines. */
export async function collectionsOf(pid: number, logFile: string): Promise<Collection[]> {
  const [startMs, log] = await Promise.all([processStartMs(pid), readFile(logFile, 'utf8')]);
  return collectionsFromTrace(log, startMs);
}

/** Whether a span of time (ms since the epoch) overlaps any of the collections. */
export function metCollection(span: { start: number; end: number }, collections: readonly Collection[]): boolean {
  return collections.some((c) => c.start < span.end && c.end > span.start);
}

/** A phase's samples split by whether each met a collection: how many did, and the latencies of those that did not. */
export interface CollectionSplit {
  met: number;
  of: number;
  others: number[];
}

/** A sample's latency in ms, and the span it was timed over (ms since the epoch). */
export interface TimedSample {
  ms: number;
  span: { start: number; end: number };
}

/** Splits samples by whether each met one of the collections. */
export function splitByCollections(samples: readonly TimedSample[], collections: readonly Collection[]): CollectionSplit {
  const others = samples.filter((s) => !metCollection(s.span, collections)).map((s) => s.ms);
  return { met: samples.length - others.length, of: samples.length, others };
}

/**
 * A note on two sets of samples (ours, then the baseline's), each split by whether it met
 * a collection of the hub's API server: how many did, and the p99 of the others.
 */
export function hubCollectionsNote(
  collections: readonly Collection[],
  [[oursLabel, ours], [baselineLabel, baseline]]: [[string, CollectionSplit], [string, CollectionSplit]],
): string {
  if (collections.length === 0) return "no gctrace line in the hub API server's log, so no sample could be told to have met a collection";
  const counts =
    `${ours.met} of ${ours.of} samples ${oursLabel} and ${baseline.met} of ${baseline.of} ${baselineLabel} ` +
    `met a garbage collection of the hub's API server (its GODEBUG=gctrace=1 lines)`;
  // The others' p99 says something only when some samples met one, and needs some that did not.
  if (ours.met + baseline.met === 0 || ours.others.length === 0 || baseline.others.length === 0) return counts;
  const p99 = (values: number[]) => percentile(values, 99);
  return `${counts}; the others' p99 ${p99(ours.others).toFixed(0)} ms against ${p99(baseline.others).toFixed(0)} ms, ${percent(p99(ours.others) / p99(baseline.others))}`;
}
