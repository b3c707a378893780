// Instructions a process retires, counted by `perf stat` (Linux perf) attached to it: a
// figure the machine's other work does not move, where the kernel lets perf read the CPU's
// counters. Virtual machines often give it none, and perf may not be installed at all: then
// `instructionCounting()` says why, and the bench reports CPU time alone.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { runCommand } from '../hack/local-infra/command.ts';

/** `perf stat -x,` writes one CSV line per event to stderr: value,unit,event,… */
export function parsePerfInstructions(stderr: string): number | string {
  const line = stderr.split('\n').find((l) => /,instructions(:u)?,/.test(l));
  if (line === undefined) return `perf stat printed no instructions count: ${stderr.trim().split('\n').at(-1) || 'nothing'}`;
  const value = line.split(',')[0]!;
  // "<not supported>" (no hardware counters here) or "<not counted>" (never scheduled).
  return /^\d+$/.test(value) ? Number(value) : `perf stat cannot count instructions on this machine: ${value}`;
}

/** undefined when `perf stat -e instructions` counts here; else why not, for the table's note. */
export async function instructionCounting(): Promise<string | undefined> {
  const probe = await runCommand('perf', ['stat', '-x,', '-e', 'instructions', '--', 'true'], { timeoutMs: 10_000 });
  if (probe.code !== 0 && probe.stderr === '') return `perf did not run (exit ${probe.code}): not installed?`;
  const count = parsePerfInstructions(probe.stderr);
  return typeof count === 'number' ? undefined : count;
}

export interface InstructionCounter {
  /** Stops counting; resolves with the instructions the process retired meanwhile. */
  stop(): Promise<number>;
}

/** Attaches `perf stat` to a running process until stop(). */
export async function countInstructions(pid: number): Promise<InstructionCounter> {
  const perf = spawn('perf', ['stat', '-x,', '-e', 'instructions', '-p', String(pid)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  perf.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = once(perf, 'exit');
  // perf prints nothing until it stops; give it a moment to attach before the caller's load starts.
  await new Promise((resolve) => setTimeout(resolve, 200));
  return {
    async stop() {
      perf.kill('SIGINT');
      await exited;
      const count = parsePerfInstructions(stderr);
      if (typeof count === 'string') throw new Error(`perf stat -p ${pid}: ${count}`);
      return count;
    },
  };
}
