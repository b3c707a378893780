// A real Kubernetes control plane on loopback: one etcd and two kube-apiservers (hub
// and spoke) sharing it under different key prefixes, each with a kube-controller-manager
// that runs only the controllers Infra relies on. No nodes: just the API, with RBAC,
// client-certificate auth, service-account signing and the aggregation layer, which is
// what Infra's operator and connector talk to.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse, stringify } from 'yaml';
import { createCertificateAuthority, generateKeyPairPem, loadCertificateAuthority, type CertificateAuthority, type PemPair } from '../../lib/pki.ts';
import { toolPaths } from './tools.ts';

export const clusterNames = ['hub', 'spoke'] as const;
export type ClusterName = (typeof clusterNames)[number];

/** The CN the aggregation layer's proxy client certificate carries; operators allow only it. */
export const frontProxyClientName = 'front-proxy-client';

export interface ClusterState {
  name: ClusterName;
  /** https://127.0.0.1:<port> */
  server: string;
  /** Kubeconfig for a system:masters client certificate. */
  adminKubeconfig: string;
  /**
   * The address at which this cluster's API server reaches processes on the test host,
   * when that is not loopback: the kind network's gateway. Absent for
   * the local control plane, whose API servers run on the host.
   */
  hostAddress?: string;
  pid: number;
  /** Files under the cluster's directory; the client CA key lets tests mint user certificates. */
  files: {
    servingCA: string;
    clientCA: string;
    clientCAKey: string;
    frontProxyCA: string;
    frontProxyCAKey: string;
    serviceAccountKey: string;
    log: string;
    /** The API server's audit log (JSON lines, audit.k8s.io/v1 Events), when started with `auditLog`. */
    auditLog?: string;
  };
}

export interface ControlPlaneState {
  dir: string;
  etcd: { pid: number; url: string; log: string };
  clusters: Record<ClusterName, ClusterState>;
  /** Every process of the control plane, for whoever needs to check on them. */
  processes: { name: string; pid: number }[];
  kubernetesVersion: string;
}

const stateFile = (dir: string) => join(dir, 'state.json');
const readyTimeoutMs = 60_000;

export interface StartOptions {
  /**
   * Directory for certificates, data and logs; a fresh temp dir when absent. Whatever it
   * holds is replaced (check findRunning first), and it is removed on stop.
   */
  dir?: string;
  /** Forward the processes' logs to this stream as well as to their log files. */
  verbose?: boolean;
  /** More kube-apiserver flags for both clusters, e.g. --enable-aggregator-routing=true. */
  apiServerFlags?: string[];
  /**
   * An AuthenticationConfiguration file (apiserver.config.k8s.io) per cluster, passed as
   * --authentication-config: e.g. for a spoke that verifies Infra tokens itself. The file
   * must exist and be valid at start; restart() makes the API server read it again.
   */
  authenticationConfig?: Partial<Record<ClusterName, string>>;
  /** Each kube-apiserver writes an audit log (auditPolicy) to its cluster's files.auditLog. */
  auditLog?: boolean;
  /**
   * Each kube-apiserver prints a line per garbage collection to its log (GODEBUG=gctrace=1):
   * for the bench, to tell which samples met one.
   */
  gcTrace?: boolean;
}

/**
 * The audit policy of a local cluster with an audit log: every request at Metadata (who,
 * what, the answer; no bodies), once complete, except the control plane's own chatter.
 */
export const auditPolicy = {
  apiVersion: 'audit.k8s.io/v1',
  kind: 'Policy',
  omitStages: ['RequestReceived'],
  rules: [
    { level: 'None', users: ['system:apiserver', 'system:kube-controller-manager'] },
    { level: 'None', nonResourceURLs: ['/healthz*', '/livez*', '/readyz*'] },
    { level: 'Metadata' },
  ],
};

/** A process of the control plane; higher tiers depend on lower ones and stop first. */
interface Member {
  name: string;
  tier: number;
  child: ChildProcess;
  /** Starts the same process again with the same arguments. */
  relaunch: () => ChildProcess;
}

export class ControlPlane {
  readonly state: ControlPlaneState;
  /** Settles with a description when any process exits before stop() was called. */
  readonly crashed: Promise<string>;
  private readonly members: Member[];
  private readonly setups: Record<ClusterName, ClusterSetup>;
  private stopping = false;
  private readonly paused = new Set<Member>();

  private constructor(state: ControlPlaneState, members: Member[], setups: Record<ClusterName, ClusterSetup>) {
    this.state = state;
    this.members = members;
    this.setups = setups;
    this.crashed = new Promise((resolve) => {
      for (const { name, child } of members) {
        child.once('exit', (code, signal) => {
          if (!this.stopping && !this.paused.has(members.find((m) => m.name === name)!)) resolve(`${name} exited with ${signal ?? `code ${code}`}`);
        });
      }
    });
  }

  static async start(options: StartOptions = {}): Promise<ControlPlane> {
    const tools = await toolPaths();
    const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'infra-controlplane-')));
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    const members: Member[] = [];
    const start = (name: string, tier: number, binary: string, args: string[], log: string, env?: NodeJS.ProcessEnv) => {
      const relaunch = () => launch(binary, args, log, { verbose: options.verbose, env });
      const child = relaunch();
      members.push({ name, tier, child, relaunch });
      return child;
    };
    try {
      const [etcdClientPort, etcdPeerPort] = await freePorts(2);
      const etcdUrl = `http://127.0.0.1:${etcdClientPort}`;
      const etcdLog = join(dir, 'etcd.log');
      const etcd = start(
        'etcd',
        0,
        tools.etcd,
        [
          '--name=infra-local',
          `--data-dir=${join(dir, 'etcd')}`,
          `--listen-client-urls=${etcdUrl}`,
          `--advertise-client-urls=${etcdUrl}`,
          `--listen-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
          `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
          `--initial-cluster=infra-local=http://127.0.0.1:${etcdPeerPort}`,
          // Test data only: durability buys nothing and fsync dominates write latency.
          '--unsafe-no-fsync',
          '--log-level=warn',
        ],
        etcdLog,
      );

      const clusterSetups = await Promise.all(clusterNames.map((name) => prepareCluster(dir, name)));
      const clusters = {} as Record<ClusterName, ClusterState>;
      await Promise.all(
        clusterSetups.map(async (setup) => {
          const name = `kube-apiserver (${setup.state.name})`;
          let apiserver: ChildProcess;
          const auditFlags = options.auditLog ? await enableAuditLog(setup) : [];
          // freePorts only finds a port that was free: another process may bind it before
          // the API server does. Then the API server exits at once, and starts again on another.
          for (let attempt = 1; ; attempt++) {
            const authenticationConfig = options.authenticationConfig?.[setup.state.name];
            const flags = [
              ...apiserverArgs(setup, etcdUrl),
              ...auditFlags,
              ...(options.apiServerFlags ?? []),
              ...(authenticationConfig ? [`--authentication-config=${authenticationConfig}`] : []),
            ];
            apiserver = start(name, 1, tools.kubeApiserver, flags, setup.state.files.log, options.gcTrace ? gcTraceEnv() : undefined);
            try {
              await waitReady(setup, apiserver);
              break;
            } catch (err) {
              if (attempt === maxPortAttempts || !(await lostItsPort(setup))) throw err;
              members.splice(
                members.findIndex((m) => m.child === apiserver),
                1,
              );
              await moveToFreePort(setup);
            }
          }
          clusters[setup.state.name] = { ...setup.state, pid: apiserver.pid! };
          start(
            `kube-controller-manager (${setup.state.name})`,
            2,
            tools.kubeControllerManager,
            controllerManagerArgs(setup),
            join(dir, setup.state.name, 'kube-controller-manager.log'),
          );
          await waitForAggregatedRoles(setup);
        }),
      );
      const state: ControlPlaneState = {
        dir,
        etcd: { pid: etcd.pid!, url: etcdUrl, log: etcdLog },
        clusters,
        processes: members.map(({ name, child }) => ({ name, pid: child.pid! })),
        kubernetesVersion: tools.kubernetesVersion,
      };
      await writeFile(stateFile(dir), JSON.stringify(state, null, 2));
      const setups = Object.fromEntries(clusterSetups.map((setup) => [setup.state.name, setup])) as Record<ClusterName, ClusterSetup>;
      return new ControlPlane(state, members, setups);
    } catch (err) {
      await stopMembers(members);
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
  }

  /**
   * Takes one cluster's API server down (an outage, as clients see it) and resolves a
   * function that brings it back on the same address with the same certificates and data.
   */
  async takeDown(cluster: ClusterName): Promise<() => Promise<void>> {
    const member = this.members.find((m) => m.name === `kube-apiserver (${cluster})`)!;
    this.paused.add(member);
    await terminate(member.child);
    return async () => {
      member.child = member.relaunch();
      this.state.clusters[cluster].pid = member.child.pid!;
      await waitReady(this.setups[cluster], member.child);
      this.paused.delete(member);
    };
  }

  /** Stops one cluster's API server and starts it again, e.g. to read its configuration files anew. */
  async restart(cluster: ClusterName): Promise<void> {
    const bringBack = await this.takeDown(cluster);
    await bringBack();
  }

  /** Stops every process it started (waiting for them to exit) and removes its directory. */
  async stop(): Promise<void> {
    this.stopping = true;
    await stopMembers(this.members);
    await rm(this.state.dir, { recursive: true, force: true });
  }
}

/** Highest tier first, so nothing logs errors about a dependency that already went away. */
async function stopMembers(members: Member[]): Promise<void> {
  for (const tier of [...new Set(members.map((m) => m.tier))].sort((a, b) => b - a)) {
    await Promise.all(members.filter((m) => m.tier === tier).map((m) => terminate(m.child)));
  }
}

/**
 * Finds a control plane that another process started in `dir` and is still serving,
 * so a test run can reuse the one `make dev` keeps up.
 */
export async function findRunning(dir: string): Promise<ControlPlaneState | undefined> {
  let state: ControlPlaneState;
  try {
    state = JSON.parse(await readFile(stateFile(dir), 'utf8')) as ControlPlaneState;
  } catch {
    return undefined;
  }
  const alive = state.processes.every(({ pid }) => isAlive(pid));
  if (!alive) return undefined;
  const ready = await Promise.all(
    clusterNames.map(async (n) => {
      const cluster = state.clusters[n];
      return probeReadyz(cluster.server, cluster.files.servingCA, await adminCertFrom(cluster.adminKubeconfig)).catch(() => false);
    }),
  );
  return ready.every(Boolean) ? state : undefined;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export interface ClusterSetup {
  state: Omit<ClusterState, 'pid'>;
  port: number;
  files: ClusterState['files'] & {
    servingCert: string;
    servingKey: string;
    serviceAccountPub: string;
    proxyClientCert: string;
    proxyClientKey: string;
    adminCert: PemPair;
  };
}

async function prepareCluster(root: string, name: ClusterName): Promise<ClusterSetup> {
  const dir = join(root, name);
  await mkdir(dir, { recursive: true });
  const [port] = await freePorts(1);
  const server = `https://127.0.0.1:${port}`;
  const [servingCA, clientCA, frontProxyCA] = await Promise.all([
    createCertificateAuthority(`${name}-serving-ca`),
    createCertificateAuthority(`${name}-client-ca`),
    createCertificateAuthority(`${name}-front-proxy-ca`),
  ]);
  const [servingCert, adminCert, proxyClient, serviceAccount] = await Promise.all([
    servingCA.issue({
      commonName: 'kube-apiserver',
      usage: 'server',
      dnsNames: ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc'],
      ipAddresses: ['127.0.0.1'],
    }),
    clientCA.issue({ commonName: 'infra-local-admin', organizations: ['system:masters'], usage: 'client' }),
    frontProxyCA.issue({ commonName: frontProxyClientName, usage: 'client' }),
    generateKeyPairPem(),
  ]);
  const file = (base: string) => join(dir, base);
  const files = {
    servingCA: file('serving-ca.crt'),
    servingCert: file('serving.crt'),
    servingKey: file('serving.key'),
    clientCA: file('client-ca.crt'),
    clientCAKey: file('client-ca.key'),
    frontProxyCA: file('front-proxy-ca.crt'),
    frontProxyCAKey: file('front-proxy-ca.key'),
    proxyClientCert: file('front-proxy-client.crt'),
    proxyClientKey: file('front-proxy-client.key'),
    serviceAccountKey: file('service-account.key'),
    serviceAccountPub: file('service-account.pub'),
    log: file('kube-apiserver.log'),
  };
  const adminKubeconfig = file('admin.kubeconfig');
  await Promise.all([
    writeFile(files.servingCA, servingCA.cert),
    writeFile(files.servingCert, servingCert.cert),
    writeFile(files.servingKey, servingCert.key, { mode: 0o600 }),
    writeFile(files.clientCA, clientCA.cert),
    writeFile(files.clientCAKey, clientCA.key, { mode: 0o600 }),
    writeFile(files.frontProxyCA, frontProxyCA.cert),
    writeFile(files.frontProxyCAKey, frontProxyCA.key, { mode: 0o600 }),
    writeFile(files.proxyClientCert, proxyClient.cert),
    writeFile(files.proxyClientKey, proxyClient.key, { mode: 0o600 }),
    writeFile(files.serviceAccountKey, serviceAccount.privateKey, { mode: 0o600 }),
    writeFile(files.serviceAccountPub, serviceAccount.publicKey),
    writeFile(adminKubeconfig, clientKubeconfig({ cluster: name, server, ca: servingCA.cert, user: 'admin', client: adminCert }), { mode: 0o600 }),
  ]);
  const { servingCert: _c, servingKey: _k, serviceAccountPub: _p, proxyClientCert: _pc, proxyClientKey: _pk, ...stateFiles } = files;
  return {
    state: { name, server, adminKubeconfig, files: stateFiles },
    port: port!,
    files: { ...files, adminCert },
  };
}

/** Writes the cluster's audit policy, records where its log goes, and returns the kube-apiserver flags for both. */
async function enableAuditLog(setup: ClusterSetup): Promise<string[]> {
  const dir = join(setup.state.files.log, '..');
  const policy = join(dir, 'audit-policy.yaml');
  const auditLog = join(dir, 'audit.log');
  await writeFile(policy, stringify(auditPolicy));
  setup.state.files.auditLog = auditLog;
  return [`--audit-policy-file=${policy}`, `--audit-log-path=${auditLog}`, '--audit-log-format=json', '--audit-log-maxbackup=1'];
}

const maxPortAttempts = 3;

/** True when the API server's log says its port was taken (`bind: address already in use`). */
export async function lostItsPort(setup: Pick<ClusterSetup, 'state' | 'port'>): Promise<boolean> {
  const log = await readFile(setup.state.files.log, 'utf8').catch(() => '');
  return log.includes(`listen tcp 127.0.0.1:${setup.port}: bind: address already in use`);
}

/** Gives a cluster another port: its URL and its admin kubeconfig change with it. */
export async function moveToFreePort(setup: Pick<ClusterSetup, 'state' | 'port' | 'files'>): Promise<void> {
  const [port] = await freePorts(1);
  setup.port = port!;
  setup.state.server = `https://127.0.0.1:${port}`;
  const ca = await readFile(setup.state.files.servingCA, 'utf8');
  const kubeconfig = clientKubeconfig({ cluster: setup.state.name, server: setup.state.server, ca, user: 'admin', client: setup.files.adminCert });
  await writeFile(setup.state.adminKubeconfig, kubeconfig, { mode: 0o600 });
}

function apiserverArgs(setup: ClusterSetup, etcdUrl: string): string[] {
  const { files, port, state } = setup;
  return [
    `--etcd-servers=${etcdUrl}`,
    `--etcd-prefix=/registry-${state.name}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--secure-port=${port}`,
    `--tls-cert-file=${files.servingCert}`,
    `--tls-private-key-file=${files.servingKey}`,
    `--client-ca-file=${files.clientCA}`,
    '--authorization-mode=RBAC',
    // Without nodes there is nothing to reconcile endpoints for, nor a token controller.
    '--endpoint-reconciler-type=none',
    '--disable-admission-plugins=ServiceAccount',
    '--service-cluster-ip-range=10.96.0.0/16',
    `--service-account-issuer=https://kubernetes.default.svc/${state.name}`,
    `--service-account-key-file=${files.serviceAccountPub}`,
    `--service-account-signing-key-file=${files.serviceAccountKey}`,
    '--allow-privileged=true',
    // The aggregation layer: a separate front-proxy CA, as in a kubeadm cluster.
    `--requestheader-client-ca-file=${files.frontProxyCA}`,
    `--requestheader-allowed-names=${frontProxyClientName}`,
    '--requestheader-username-headers=X-Remote-User',
    '--requestheader-uid-headers=X-Remote-Uid',
    '--requestheader-group-headers=X-Remote-Group',
    '--requestheader-extra-headers-prefix=X-Remote-Extra-',
    `--proxy-client-cert-file=${files.proxyClientCert}`,
    `--proxy-client-key-file=${files.proxyClientKey}`,
    `--cert-dir=${join(state.files.log, '..', 'cert-dir')}`,
    '--v=1',
  ];
}

/**
 * Only the controllers an API-only cluster lacks and Infra's tests rely on: ClusterRole
 * aggregation (view, edit and admin get their rules), namespace finalization, and
 * owner-reference garbage collection.
 */
function controllerManagerArgs(setup: ClusterSetup): string[] {
  return [
    `--kubeconfig=${setup.state.adminKubeconfig}`,
    '--controllers=clusterrole-aggregation-controller,namespace-controller,garbage-collector-controller',
    '--leader-elect=false',
    '--secure-port=0',
    '--use-service-account-credentials=false',
    '--v=1',
  ];
}

/** The built-in view role has rules only once the aggregation controller has run. */
async function waitForAggregatedRoles(setup: ClusterSetup): Promise<void> {
  const ca = await readFile(setup.state.files.servingCA, 'utf8');
  const deadline = Date.now() + readyTimeoutMs;
  while (Date.now() < deadline) {
    const role = await getJSON(`${setup.state.server}/apis/rbac.authorization.k8s.io/v1/clusterroles/view`, ca, setup.files.adminCert).catch(() => undefined);
    if (((role as { rules?: unknown[] } | undefined)?.rules ?? []).length > 0) return;
    await sleep(200);
  }
  throw new Error(
    `ClusterRole view in ${setup.state.name} got no rules within ${readyTimeoutMs / 1000}s: is kube-controller-manager running? See ${join(setup.state.files.log, '..', 'kube-controller-manager.log')}`,
  );
}

function getJSON(url: string, ca: string, client: PemPair): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, cert: client.cert, key: client.key, timeout: 2000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(body)) : reject(new Error(`HTTP ${res.statusCode}`))));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

/** This process's environment with the Go runtime's line per garbage collection turned on. */
function gcTraceEnv(): NodeJS.ProcessEnv {
  const godebug = process.env['GODEBUG'];
  return { ...process.env, GODEBUG: godebug ? `${godebug},gctrace=1` : 'gctrace=1' };
}

function launch(
  binary: string,
  args: string[],
  logFile: string,
  options: { verbose?: boolean | undefined; env?: NodeJS.ProcessEnv | undefined } = {},
): ChildProcess {
  const log = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'], ...(options.env ? { env: options.env } : {}) });
  for (const stream of [child.stdout, child.stderr]) {
    stream.pipe(log, { end: false });
    if (options.verbose) stream.pipe(process.stderr, { end: false });
  }
  child.once('exit', () => log.end());
  return child;
}

async function waitReady(setup: ClusterSetup, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + readyTimeoutMs;
  let exited: string | undefined;
  child.once('exit', (code, signal) => (exited = `exited with ${signal ?? `code ${code}`}`));
  let lastError = 'no answer yet';
  while (Date.now() < deadline) {
    if (exited) break;
    try {
      if (await probeReadyz(setup.state.server, setup.state.files.servingCA, setup.files.adminCert)) return;
      lastError = '/readyz is not ok yet';
    } catch (err) {
      lastError = (err as Error).message;
    }
    await sleep(200);
  }
  const tail = (await readFile(setup.state.files.log, 'utf8').catch(() => '')).split('\n').slice(-15).join('\n');
  throw new Error(
    `kube-apiserver for ${setup.state.name} ${exited ?? `was not ready within ${readyTimeoutMs / 1000}s (${lastError})`}; ` +
      `log ${setup.state.files.log} ends with:\n${tail}`,
  );
}

async function probeReadyz(server: string, caFile: string, client: PemPair): Promise<boolean> {
  const ca = await readFile(caFile, 'utf8');
  return new Promise((resolve, reject) => {
    const req = request(`${server}/readyz`, { ca, cert: client.cert, key: client.key, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

async function adminCertFrom(kubeconfigPath: string): Promise<PemPair> {
  const config = parse(await readFile(kubeconfigPath, 'utf8')) as { users: { user: Record<string, string> }[] };
  const user = config.users[0]!.user;
  return {
    cert: Buffer.from(user['client-certificate-data']!, 'base64').toString(),
    key: Buffer.from(user['client-key-data']!, 'base64').toString(),
  };
}

async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const killed = await Promise.race([exited.then(() => true), sleep(10_000).then(() => false)]);
  if (!killed) {
    child.kill('SIGKILL');
    await exited;
  }
}

export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<import('node:net').Server>((resolve, reject) => {
          const server = createServer();
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as import('node:net').AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

export interface KubeconfigInput {
  cluster: string;
  server: string;
  /** PEM CA bundle that signed the server's certificate. */
  ca: string;
  user: string;
  client: PemPair;
}

/** The cluster's client or front-proxy CA with its key, to sign certificates a test presents. */
export async function clusterCA(cluster: ClusterState, which: 'client' | 'frontProxy'): Promise<CertificateAuthority> {
  const [cert, key] = which === 'client' ? [cluster.files.clientCA, cluster.files.clientCAKey] : [cluster.files.frontProxyCA, cluster.files.frontProxyCAKey];
  return loadCertificateAuthority({ cert: await readFile(cert, 'utf8'), key: await readFile(key, 'utf8') });
}

/** A self-contained kubeconfig (certificates inlined) for one client certificate. */
export function clientKubeconfig({ cluster, server, ca, user, client }: KubeconfigInput): string {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: cluster, cluster: { server, 'certificate-authority-data': b64(ca) } }],
    users: [{ name: user, user: { 'client-certificate-data': b64(client.cert), 'client-key-data': b64(client.key) } }],
    contexts: [{ name: cluster, context: { cluster, user } }],
    'current-context': cluster,
  });
}

/**
 * Mints a kubeconfig for an arbitrary user of a running cluster (a client certificate
 * signed by its client CA), for tests that act as someone other than the admin.
 */
export async function userKubeconfig(cluster: ClusterState, user: string, groups: string[] = []): Promise<string> {
  const clientCA = await clusterCA(cluster, 'client');
  const client = await clientCA.issue({ commonName: user, organizations: groups, usage: 'client', validFor: { hours: 12 } });
  return clientKubeconfig({ cluster: cluster.name, server: cluster.server, ca: await readFile(cluster.files.servingCA, 'utf8'), user, client });
}
