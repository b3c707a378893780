// When a Go program (the hub's kube-apiserver) collected garbage, on the wall clock: from
// the line the Go runtime prints per collection with GODEBUG=gctrace=1, which the local
// control plane sets for the bench (hack/controlplane, `gcTrace`). A scenario can then
// tell which of its samples met a collection (bench/README.md, Session 41).
import { readFile } from 'node:fs/promises';
import { clockTicks } from './harness.ts';

/** One garbage collection, in ms since the epoch: from its start to the end of its mark termination. */
export interface Collection {
  start: number;
  end: number;
}

// gc 12 @34.567s 2%: 0.11+20+0.05 ms clock, 0.2+1.1/9.7/0+0.1 ms cpu, 40->41->20 MB, 42 MB goal, 0 MB stacks, 0 MB globals, 2 P
const gctraceLine = /^gc \d+ @(\d+(?:\.\d+)?)s \d+%: ([\d.+]+) ms clock,/;

/**
 * The collections a gctrace log names, placed on the wall clock: each line gives its
 * collection's start in seconds since the process started, and its phases' wall times.
 */
export function collectionsFromTrace(log: string, processStartMs: number): Collection[] {
  return log.split('\n').flatMap((line) => {
    const match = gctraceLine.exec(line);
    if (!match) return [];
    const start = processStartMs + Number(match[1]) * 1000;
    const phasesMs = match[2]!.split('+').reduce((sum, phase) => sum + Number(phase), 0);
    return [{ start, end: start + phasesMs }];
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
  // Fields after the parenthesised command name; starttime is field 22.
  const startTicks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
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
