// Runs infra-operator and infra-connector as real processes, for e2e tests and benchmarks.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { appendFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'yaml';
import { programBundle } from '../build.ts';
import { freePorts } from '../controlplane/controlplane.ts';
import { commandLineFlags, nodeFlags, programEnv, type Program } from '../../lib/node-flags.ts';

/** How many of a crashed program's last lines its crash report carries. */
const crashLines = 40;

export interface RunningProgram {
  metricsURL: string;
  process: ChildProcess;
  /** Every line the process wrote, stdout and stderr. */
  logs: string[];
  /**
   * Settles when the process ends without stop() or kill() having been called: its exit
   * code or signal and its last lines (where a crash or an out-of-memory abort says why).
   */
  crashed: Promise<string>;
  stop(): Promise<void>;
  kill(): Promise<void>;
}

/**
 * Writes the config file, starts `node <the program's flags> dist/<program>/main.js --config <file>`
 * (the bundle that ships, built by whoever starts the run: test/global-setup.ts, bench/main.ts,
 * hack/dev.ts), collects its log lines.
 */
async function startProgram(
  program: Program,
  config: Record<string, unknown>,
  metricsPort: number,
  logFile?: string,
  env?: NodeJS.ProcessEnv,
  flags: readonly string[] = nodeFlags[program],
): Promise<RunningProgram> {
  const dir = await mkdtemp(join(tmpdir(), 'infra-program-'));
  const configFile = join(dir, 'config.yaml');
  // Debug logging unless the caller asks for another level (the bench runs at production's info).
  await writeFile(configFile, stringify({ logLevel: 'debug', ...config, listen: { ...(config.listen as object), metrics: `127.0.0.1:${metricsPort}` } }));
  const child = spawn(process.execPath, [...flags, ...commandLineFlags[program], programBundle(program), '--config', configFile], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...programEnv[program], ...env },
  });
  const logs: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    let partial = '';
    stream.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop()!;
      logs.push(...lines);
      if (logFile && lines.length > 0) appendFileSync(logFile, `${lines.join('\n')}\n`);
    });
  }
  // 'close', not 'exit': the process has ended and its output is read to the end, so
  // `logs` is complete for whoever awaits this (startOnFreePorts looks for EADDRINUSE).
  // The program reads its config file once, at start; the file goes when the process does.
  const closed = once(child, 'close');
  const exited = closed.then(() => rm(dir, { recursive: true, force: true }));
  let stopping = false;
  const crashed = closed.then(() =>
    stopping
      ? new Promise<string>(() => {})
      : `${program} (pid ${child.pid}) exited with ${child.signalCode ?? `code ${child.exitCode}`}; its last lines:\n${logs.slice(-crashLines).join('\n')}`,
  );
  const signal = async (name: NodeJS.Signals) => {
    stopping = true;
    if (child.exitCode === null && child.signalCode === null) child.kill(name);
    await exited;
  };
  return { metricsURL: `http://127.0.0.1:${metricsPort}`, process: child, logs, crashed, stop: () => signal('SIGTERM'), kill: () => signal('SIGKILL') };
}

export interface RunningOperator extends RunningProgram {
  publicURL: string;
  aggregatedPort: number;
  identity: string;
}

export interface OperatorOptions {
  /** The hub's kubeconfig. */
  kubeconfig: string;
  namespace: string;
  identity?: string;
  /** Extra settings merged into the config file (e.g. tokens, apiService). */
  config?: Record<string, unknown>;
  waitReady?: boolean;
  /** Also append the process's log lines to this file. */
  logFile?: string;
  /** Extra environment, e.g. NODE_EXTRA_CA_CERTS to trust a test identity provider. */
  env?: NodeJS.ProcessEnv;
  /** Node flags in place of the shipped ones (lib/node-flags.ts), e.g. a larger heap for a much larger hub. */
  nodeFlags?: readonly string[];
  /** Where the aggregated door listens (127.0.0.1 unless a cluster must reach it: listenAddressFor). */
  aggregatedHost?: string;
  pickPorts?: PortPicker;
}

/** Ports that are free when picked; another process may take one before the program binds it. */
export type PortPicker = (count: number) => Promise<number[]>;

const maxPortAttempts = 3;

/**
 * Starts a program on ports picked a moment before and waits until it is ready. If
 * another process took one of them in between (the program exits saying EADDRINUSE), it
 * is started again on other ports, as the control plane does for its API servers.
 */
async function startOnFreePorts<T extends RunningProgram>(count: number, pick: PortPicker, start: (ports: number[]) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const program = await start(await pick(count));
    try {
      await waitReady(program);
      return program;
    } catch (err) {
      await program.kill();
      if (attempt >= maxPortAttempts || !program.logs.some((line) => line.includes('EADDRINUSE'))) throw err;
    }
  }
}

export async function startOperator(options: OperatorOptions): Promise<RunningOperator> {
  const start = async ([publicPort, aggregatedPort, metricsPort]: number[]) => {
    const identity = options.identity ?? `operator-${publicPort}`;
    const { apiService, ...rest } = options.config ?? {};
    const program = await startProgram(
      'operator',
      {
        kubeconfig: options.kubeconfig,
        namespace: options.namespace,
        publicURL: `https://127.0.0.1:${publicPort}`,
        listen: { public: `127.0.0.1:${publicPort}`, aggregated: `${options.aggregatedHost ?? '127.0.0.1'}:${aggregatedPort}` },
        apiService: { register: false, servicePort: aggregatedPort, ...(apiService as object) },
        leaderElection: { identity },
        ...rest,
      },
      metricsPort!,
      options.logFile,
      options.env,
      options.nodeFlags,
    );
    return { ...program, publicURL: `https://127.0.0.1:${publicPort}`, aggregatedPort: aggregatedPort!, identity };
  };
  const pick = options.pickPorts ?? freePorts;
  // A test of an operator that is not ready yet waits itself, and sees any failure.
  if (options.waitReady === false) return start(await pick(3));
  return startOnFreePorts(3, pick, start);
}

export interface RunningConnector extends RunningProgram {
  proxyURL: string;
}

export interface ConnectorOptions {
  destination: string;
  /** The spoke's kubeconfig (the connector's own credentials there). */
  kubeconfig: string;
  /** A hub kubeconfig to use as it is; without one the connector uses its own renewing credential. */
  hubKubeconfig?: string;
  /** The single-use bootstrap credential for that credential (destinations.ts, `infra destinations add`). */
  bootstrapToken?: string;
  /** hubCredential settings (e.g. renewEvery: 3s to see renewals). */
  hubCredential?: { lifetime?: string; renewEvery?: string };
  /** The proxy's own spoke identity (proxy-identity.ts); the spoke kubeconfig's when absent. */
  proxyKubeconfig?: string;
  /** proxy.certificateLifetime (e.g. 6s to see renewals); the connector's default when absent. */
  proxyCertificateLifetime?: string;
  /** The connector's leaderElection settings (e.g. short leases for a failover test); its defaults when absent. */
  leaderElection?: { identity?: string; leaseDuration?: string; renewDeadline?: string; retryPeriod?: string };
  issuer: string;
  issuerCAFile: string;
  /** Spoke namespace for the proxy's CA Secret. */
  namespace: string;
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  logFile?: string;
  pickPorts?: PortPicker;
}

export async function startConnector(options: ConnectorOptions): Promise<RunningConnector> {
  const { logFile, pickPorts, proxyKubeconfig, proxyCertificateLifetime, ...config } = options;
  return startOnFreePorts(2, pickPorts ?? freePorts, async ([proxyPort, metricsPort]) => {
    const proxyURL = `https://127.0.0.1:${proxyPort}`;
    const proxy = {
      listen: `127.0.0.1:${proxyPort}`,
      url: proxyURL,
      ...(proxyKubeconfig ? { kubeconfig: proxyKubeconfig } : {}),
      ...(proxyCertificateLifetime ? { certificateLifetime: proxyCertificateLifetime } : {}),
    };
    const program = await startProgram('connector', { ...config, proxy }, metricsPort!, logFile);
    return { ...program, proxyURL };
  });
}

export async function waitReady(program: RunningProgram, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (program.process.exitCode !== null) throw new Error(`the program exited with ${program.process.exitCode}:\n${program.logs.slice(-20).join('\n')}`);
    // A probe that gets no answer must not hold the harness past its deadline.
    const ok = await fetch(`${program.metricsURL}/readyz`, { signal: AbortSignal.timeout(2000) }).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`the program was not ready within ${timeoutMs} ms:\n${program.logs.slice(-20).join('\n')}`);
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
