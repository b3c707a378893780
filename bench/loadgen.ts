// Drives an HTTPS endpoint with hack/tools/loadgen, a Go process of its own, for
// scenarios whose baseline has no client: a Node client in the bench would take a core's
// worth of the two from the program it measures (bench/README.md, "Token issuance").
import { toolPaths } from '../hack/controlplane/tools.ts';
import { runCommand } from '../hack/local-infra/command.ts';

export interface HttpLoad {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string;
  /** PEM bundle the server's certificate must chain to. */
  ca: string;
  concurrency: number;
  /** Bounds: stop after this many requests or this long, whichever comes first. */
  count: number;
  durationMs: number;
  /** Every answer must have this status and contain this text, or the load stops and fails. */
  expectStatus: number;
  expectBody: string;
}

export interface HttpLoadResult {
  completed: number;
  seconds: number;
  latenciesMs: number[];
  /** The load generator's own CPU (user + system). */
  clientCpuMs: number;
}

interface LoadgenOutput {
  completed: number;
  seconds: number;
  latenciesMs: number[];
  cpuMs: number;
  failure?: string;
}

let loadgenPath: Promise<string> | undefined;

/** Runs one closed-loop load; rejects with the first wrong answer, or loadgen's own error. */
export async function httpLoad(load: HttpLoad): Promise<HttpLoadResult> {
  const loadgen = await (loadgenPath ??= toolPaths().then((tools) => tools.loadgen));
  // One OS thread is plenty for a few connections, and spares the cross-thread wake-ups
  // that made each request cost a third more CPU with two.
  const run = await runCommand(loadgen, [], { env: { GOMAXPROCS: '1' }, input: JSON.stringify(load) });
  if (run.code !== 0) throw new Error(`loadgen exited with ${run.code}: ${run.stderr.trim() || '(no output)'}`);
  const out = JSON.parse(run.stdout) as LoadgenOutput;
  if (out.failure) throw new Error(`after ${out.completed} good answers: ${out.failure}`);
  return { completed: out.completed, seconds: out.seconds, latenciesMs: out.latenciesMs, clientCpuMs: out.cpuMs };
}
