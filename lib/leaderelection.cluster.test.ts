// Leader election against the real hub kube-apiserver: one leader at a time, a fast
// handover on release, takeover after expiry when the leader dies, stepping down when
// another holder appears, and a leader cut off from the API server stepping down before
// anyone else can take over.
import { KubeConfig } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cluster, kubectlOk, uniqueName } from '../test/cluster.ts';
import { loadKubeConfig } from './kube.ts';
import { LeaderElector } from './leaderelection.ts';
import { createLogger } from './log.ts';

const timing = { leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 500 };
const logger = createLogger('leaderelection-test', process.env.LOG_LEVEL ?? 'silent');

interface Candidate {
  identity: string;
  elector: LeaderElector;
  /** Date.now() of each onStartedLeading / onStoppedLeading call. */
  started: number[];
  stopped: number[];
  signals: AbortSignal[];
  run: Promise<void>;
}

let namespace: string;
let kubeConfig: KubeConfig;
const candidates: Candidate[] = [];

function candidate(identity: string, lease: string, config = kubeConfig, registry?: Registry): Candidate {
  const started: number[] = [];
  const stopped: number[] = [];
  const signals: AbortSignal[] = [];
  const elector = new LeaderElector({
    kubeConfig: config,
    namespace,
    name: lease,
    identity,
    logger,
    ...timing,
    ...(registry ? { registry } : {}),
    onStartedLeading: (signal) => {
      started.push(Date.now());
      signals.push(signal);
    },
    onStoppedLeading: () => {
      stopped.push(Date.now());
    },
  });
  const c: Candidate = { identity, elector, started, stopped, signals, run: elector.run() };
  candidates.push(c);
  return c;
}

async function eventually<T>(check: () => T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const leaderOf =
  (...cs: Candidate[]) =>
  () => {
    const leaders = cs.filter((c) => c.elector.isLeader);
    expect(leaders.length).toBeLessThanOrEqual(1);
    return leaders[0];
  };

async function leaseSpec(lease: string): Promise<{ holderIdentity?: string; leaseDurationSeconds?: number; leaseTransitions?: number; renewTime?: string }> {
  return (JSON.parse(await kubectlOk('hub', ['get', 'lease', '-n', namespace, lease, '-o', 'json'])) as { spec: Awaited<ReturnType<typeof leaseSpec>> }).spec;
}

beforeAll(async () => {
  namespace = uniqueName('le');
  await kubectlOk('hub', ['create', 'namespace', namespace]);
  kubeConfig = loadKubeConfig(cluster('hub').adminKubeconfig);
});

afterEach(async () => {
  await Promise.all(candidates.splice(0).map((c) => c.elector.stop({ release: false })));
});

afterAll(async () => {
  if (namespace) await kubectlOk('hub', ['delete', 'namespace', namespace, '--wait=false']);
});

describe('LeaderElector', () => {
  it('elects exactly one of two candidates, and kubectl shows it as the holder', async () => {
    const lease = uniqueName('lease');
    const a = candidate('a', lease);
    const b = candidate('b', lease);
    const leader = await eventually(leaderOf(a, b), 5000);
    const follower = leader === a ? b : a;

    // Several renew periods later: still that one leader, started once, never stopped.
    const until = Date.now() + 2000;
    while (Date.now() < until) {
      expect(leaderOf(a, b)()).toBe(leader);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(leader.started).toHaveLength(1);
    expect(leader.stopped).toHaveLength(0);
    expect(leader.signals[0]!.aborted).toBe(false);
    expect(follower.started).toHaveLength(0);

    const first = await leaseSpec(lease);
    expect(first).toMatchObject({ holderIdentity: leader.identity, leaseDurationSeconds: 3, leaseTransitions: 0 });
    expect(first.renewTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    await new Promise((r) => setTimeout(r, 1000));
    const second = await leaseSpec(lease);
    expect(second.holderIdentity).toBe(leader.identity);
    expect(Date.parse(second.renewTime!)).toBeGreaterThan(Date.parse(first.renewTime!));
  });

  it('hands over at once when the leader stops and releases the lease', async () => {
    const lease = uniqueName('lease');
    const a = candidate('a', lease);
    await eventually(leaderOf(a), 5000);
    const b = candidate('b', lease);
    await new Promise((r) => setTimeout(r, 1000)); // b has seen a's lease and waits
    expect(b.elector.isLeader).toBe(false);

    await a.elector.stop();
    const stoppedAt = Date.now();
    expect(a.elector.isLeader).toBe(false);
    expect(a.signals[0]!.aborted).toBe(true);
    expect(a.stopped).toHaveLength(1);

    await eventually(leaderOf(a, b), 3000);
    expect(b.started[0]! - stoppedAt).toBeLessThan(3000);
    expect(await leaseSpec(lease)).toMatchObject({ holderIdentity: 'b', leaseDurationSeconds: 3, leaseTransitions: 1 });
  });

  it('takes over after the lease expires when the leader dies without releasing it', async () => {
    const lease = uniqueName('lease');
    const a = candidate('a', lease);
    await eventually(leaderOf(a), 5000);
    const b = candidate('b', lease);
    await new Promise((r) => setTimeout(r, 1000));

    await a.elector.stop({ release: false }); // what a crashed process leaves behind
    const killedAt = Date.now();
    expect((await leaseSpec(lease)).holderIdentity).toBe('a');

    await eventually(leaderOf(a, b), 15_000);
    const tookMs = b.started[0]! - killedAt;
    expect(tookMs).toBeGreaterThan(1000); // it waited for the lease to expire
    expect(tookMs).toBeLessThan(15_000);
    expect(await leaseSpec(lease)).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
  });

  it('steps down at once when another holder appears on the lease, and campaigns again', async () => {
    const lease = uniqueName('lease');
    const a = candidate('a', lease);
    await eventually(leaderOf(a), 5000);
    await kubectlOk('hub', ['patch', 'lease', '-n', namespace, lease, '--type=merge', '-p', '{"spec":{"holderIdentity":"intruder"}}']);
    const patchedAt = Date.now();

    await eventually(() => (a.stopped.length ? true : undefined), 2000);
    expect(a.elector.isLeader).toBe(false);
    expect(a.signals[0]!.aborted).toBe(true);

    // The intruder never renews: once its lease expires, a takes it back.
    await eventually(leaderOf(a), 15_000);
    expect(a.started).toHaveLength(2);
    expect(a.started[1]! - patchedAt).toBeGreaterThan(2000);
    expect(a.signals[1]!.aborted).toBe(false);
  });

  it('holds the lease only until the renew deadline, even while a stalled event loop keeps isLeader true; infra_leader follows', async () => {
    const lease = uniqueName('lease');
    const registry = new Registry();
    const gauge = async () => Number(new RegExp(`^infra_leader\\{lease="${namespace}/${lease}"\\} (\\d)$`, 'm').exec(await registry.metrics())?.[1]);
    const a = candidate('a', lease, kubeConfig, registry);
    await eventually(leaderOf(a), 5000);
    expect(a.elector.holdsLease).toBe(true);
    expect(await gauge()).toBe(1);

    // A stall (a long GC, a frozen process) past the renew deadline: no renewal can run.
    const stalledUntil = Date.now() + timing.renewDeadlineMs + 100;
    while (Date.now() < stalledUntil) {
      // busy
    }
    expect(a.elector.isLeader).toBe(true);
    expect(a.elector.holdsLease).toBe(false);

    await a.elector.stop();
    expect(await gauge()).toBe(0);
  });

  it('steps down within the renew deadline when cut off from the API server, before another takes over', async () => {
    const lease = uniqueName('lease');
    const proxy = await blackholeProxy(cluster('hub').server);
    try {
      const a = candidate('a', lease, throughProxy(kubeConfig, proxy.url));
      await eventually(leaderOf(a), 5000);
      const b = candidate('b', lease);
      await new Promise((r) => setTimeout(r, 1000));

      proxy.partition();
      const partitionedAt = Date.now();
      await eventually(() => (a.stopped.length ? true : undefined), 5000);
      expect(a.elector.isLeader).toBe(false);
      expect(a.signals[0]!.aborted).toBe(true);
      expect(a.stopped[0]! - partitionedAt).toBeLessThanOrEqual(timing.renewDeadlineMs + 500);

      await eventually(leaderOf(a, b), 15_000);
      expect(b.started[0]!).toBeGreaterThan(a.stopped[0]!);
      expect((await leaseSpec(lease)).holderIdentity).toBe('b');
    } finally {
      await Promise.all(candidates.splice(0).map((c) => c.elector.stop({ release: false })));
      await proxy.close();
    }
  });
});

/** The same kubeconfig, pointed at another server URL (a proxy in front of the real one). */
function throughProxy(config: KubeConfig, server: string): KubeConfig {
  const copy = new KubeConfig();
  copy.loadFromOptions({
    clusters: config.clusters.map((c) => ({ ...c, server })),
    users: config.users,
    contexts: config.contexts,
    currentContext: config.currentContext,
  });
  return copy;
}

/** A TCP proxy to the API server that, once partitioned, silently drops every byte both ways. */
async function blackholeProxy(target: string): Promise<{ url: string; partition: () => void; close: () => Promise<void> }> {
  const { hostname, port } = new URL(target);
  const sockets = new Set<Socket>();
  let partitioned = false;
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  };
  const server: Server = createServer((client) => {
    track(client);
    if (partitioned) return; // accepted, never answered
    const upstream = connect(Number(port), hostname);
    track(upstream);
    client.on('data', (data) => partitioned || upstream.write(data));
    upstream.on('data', (data) => partitioned || client.write(data));
    client.on('end', () => partitioned || upstream.end());
    upstream.on('end', () => partitioned || client.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy has no port');
  return {
    url: `https://127.0.0.1:${address.port}`,
    partition: () => {
      partitioned = true;
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
