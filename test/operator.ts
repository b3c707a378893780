// Runs infra-operator as a real process against a hub, for e2e tests and benchmarks.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'yaml';
import { freePorts } from '../hack/controlplane/controlplane.ts';

const repoRoot = join(import.meta.dirname, '..');

export interface RunningOperator {
  publicURL: string;
  aggregatedPort: number;
  metricsURL: string;
  identity: string;
  process: ChildProcess;
  /** Every line the process wrote, stdout and stderr. */
  logs: string[];
  stop(): Promise<void>;
  kill(): Promise<void>;
}

export interface OperatorOptions {
  /** The hub's kubeconfig. */
  kubeconfig: string;
  namespace: string;
  identity?: string;
  /** Extra settings merged into the config file (e.g. tokens, apiService). */
  config?: Record<string, unknown>;
  waitReady?: boolean;
}

export async function startOperator(options: OperatorOptions): Promise<RunningOperator> {
  const [publicPort, aggregatedPort, metricsPort] = await freePorts(3);
  const identity = options.identity ?? `operator-${publicPort}`;
  const dir = await mkdtemp(join(tmpdir(), 'infra-operator-'));
  const configFile = join(dir, 'config.yaml');
  const { apiService, ...rest } = options.config ?? {};
  await writeFile(
    configFile,
    stringify({
      kubeconfig: options.kubeconfig,
      namespace: options.namespace,
      publicURL: `https://127.0.0.1:${publicPort}`,
      listen: { public: `127.0.0.1:${publicPort}`, aggregated: `127.0.0.1:${aggregatedPort}`, metrics: `127.0.0.1:${metricsPort}` },
      apiService: { register: false, servicePort: aggregatedPort, ...(apiService as object) },
      leaderElection: { identity },
      logLevel: 'debug',
      ...rest,
    }),
  );
  const child = spawn(process.execPath, [join(repoRoot, 'operator', 'main.ts'), '--config', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: string[] = [];
  for (const stream of [child.stdout!, child.stderr!]) {
    let partial = '';
    stream.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop()!;
      logs.push(...lines);
    });
  }
  const exited = once(child, 'exit');
  const running: RunningOperator = {
    publicURL: `https://127.0.0.1:${publicPort}`,
    aggregatedPort: aggregatedPort!,
    metricsURL: `http://127.0.0.1:${metricsPort}`,
    identity,
    process: child,
    logs,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
  if (options.waitReady !== false) await waitReady(running);
  return running;
}

export async function waitReady(operator: RunningOperator, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (operator.process.exitCode !== null) throw new Error(`infra-operator exited with ${operator.process.exitCode}:\n${operator.logs.slice(-20).join('\n')}`);
    const ok = await fetch(`${operator.metricsURL}/readyz`).then((r) => r.ok, () => false);
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`infra-operator was not ready within ${timeoutMs} ms:\n${operator.logs.slice(-20).join('\n')}`);
}

/** Polls until check passes (returns without throwing) or the timeout is up. */
export async function eventually<T>(check: () => Promise<T> | T, timeoutMs = 15_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(intervalMs);
    }
  }
}
