// What only real nodes can show, against the Infra that `make kind-up` installed from
// config/ (E2E_CLUSTER=kind; skipped on the loopback control plane): the operator and
// connector run as pods from their images on in-cluster ServiceAccount credentials, their
// probes gate readiness, the auth API is served through the APIService's Service, /metrics
// answers over HTTPS only to a token allowed to read it, the
// PodDisruptionBudget holds, a rolling restart under load and the loss of the leader pod
// cost the clients at most one retried request, and a connector restarted while the hub
// is unreachable keeps its spoke's bindings. The global setup scales the deployed Infra
// to zero for the other suites; this file scales it back up for its own tests.
import { spawn } from 'node:child_process';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cluster, kubectl, kubectlOk, uniqueName } from '../test/cluster.ts';
import { runCommand } from '../hack/local-infra/command.ts';
import { https } from '../hack/local-infra/https.ts';
import { eventually } from '../hack/local-infra/programs.ts';
import { kindInfraNamespace, selectedCluster } from '../hack/e2e-clusters.ts';
import type { ClusterName } from '../hack/controlplane/controlplane.ts';

const namespace = kindInfraNamespace;
const operator = { cluster: 'hub', deployment: 'infra-operator', replicas: 2 } as const;
const connector = { cluster: 'spoke', deployment: 'infra-connector', replicas: 1 } as const;
/** The destination kind-up registers the spoke as. */
const destination = 'kind';
const authAPI = '/apis/auth.infrahq.com/v1alpha1';
const leaderTakeoverMs = 15_000;
const loadClients = 3;
const loadPauseMs = 100;
const unreachableMs = 20_000;
/** kind-up's node containers. */
const hubNode = 'infra-hub-control-plane';
const spokeNode = 'infra-spoke-control-plane';

interface Pod {
  metadata: { name: string; deletionTimestamp?: string };
  spec: { serviceAccountName?: string; automountServiceAccountToken?: boolean; containers: Container[] };
  status: { conditions?: { type: string; status: string }[] };
}
interface Container {
  image: string;
  readinessProbe?: object;
  livenessProbe?: object;
  resources?: { requests?: Record<string, string> };
}

async function json<T>(target: ClusterName, args: string[]): Promise<T> {
  return JSON.parse(await kubectlOk(target, [...args, '-o', 'json'])) as T;
}
const readyPods = async (target: ClusterName, app: string) =>
  (await json<{ items: Pod[] }>(target, ['-n', namespace, 'get', 'pods', '-l', `app.kubernetes.io/name=${app}`])).items.filter(
    (p) => !p.metadata.deletionTimestamp && p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
  );
async function scale(program: { cluster: ClusterName; deployment: string }, replicas: number): Promise<void> {
  await kubectlOk(program.cluster, ['-n', namespace, 'scale', `deployment/${program.deployment}`, `--replicas=${replicas}`]);
  if (replicas > 0) await kubectlOk(program.cluster, ['-n', namespace, 'rollout', 'status', `deployment/${program.deployment}`, '--timeout=180s']);
}
const leaseHolder = async () =>
  (await json<{ spec: { holderIdentity?: string } }>('hub', ['-n', namespace, 'get', 'lease', operator.deployment])).spec.holderIdentity;
/** The auth API through the aggregation layer: API server → APIService → Service → an operator pod. */
const authDiscovery = () => kubectl('hub', ['get', '--raw', authAPI, '--request-timeout=5s']);

/**
 * Clients that call the auth API until stopped (bounded by maxMs), each retrying a failed
 * request once; reports per client how many requests needed their retry, and every error.
 */
function loadOnAuthAPI(maxMs: number) {
  let stopped = false;
  const deadline = Date.now() + maxMs;
  const client = async () => {
    let requests = 0;
    let retried = 0;
    const errors: string[] = [];
    while (!stopped && Date.now() < deadline) {
      requests++;
      const first = await authDiscovery();
      if (first.code !== 0) {
        retried++;
        errors.push(first.stderr.trim());
        const retry = await authDiscovery();
        if (retry.code !== 0) errors.push(`retry: ${retry.stderr.trim()}`);
      }
      await new Promise((r) => setTimeout(r, loadPauseMs));
    }
    return { requests, retried, errors };
  };
  const clients = Promise.all(Array.from({ length: loadClients }, client));
  return {
    stop: async () => {
      stopped = true;
      return clients;
    },
  };
}

describe.skipIf(selectedCluster(process.env) !== 'kind')('Infra on real kind nodes', () => {
  beforeAll(async () => {
    await scale(operator, operator.replicas);
    await scale(connector, connector.replicas);
  }, 400_000);
  afterAll(async () => {
    // Back to how the global setup left them; its teardown restores the replicas.
    await scale(operator, 0);
    await scale(connector, 0);
  }, 400_000);

  it('runs the operator and connector as pods from their images, on in-cluster ServiceAccount credentials, Ready through their probes', async () => {
    for (const program of [operator, connector]) {
      const deployment = await json<{ spec: { template: Pod } }>(program.cluster, ['-n', namespace, 'get', `deployment/${program.deployment}`]);
      const container = deployment.spec.template.spec.containers[0]!;
      expect(container.image).toMatch(new RegExp(`/${program.deployment}:`));
      expect(container.readinessProbe).toBeDefined();
      expect(container.livenessProbe).toBeDefined();
      const pods = await readyPods(program.cluster, program.deployment);
      expect(pods).toHaveLength(program.replicas);
      for (const pod of pods) {
        expect(pod.spec.serviceAccountName).toBe(program.deployment);
        expect(pod.spec.automountServiceAccountToken).not.toBe(false);
      }
    }
    // The connector reached the hub and reported: its Destination is Ready.
    await kubectlOk('hub', ['wait', '--for=condition=Ready', `destination/${destination}`, '--timeout=60s']);
  });

  it('serves the auth API through the APIService and the operator Service', async () => {
    const apiService = await json<{ spec: { service?: { name: string; namespace: string } }; status: { conditions?: { type: string; status: string }[] } }>(
      'hub',
      ['get', 'apiservice', 'v1alpha1.auth.infrahq.com'],
    );
    expect(apiService.spec.service).toMatchObject({ name: operator.deployment, namespace });
    expect(apiService.status.conditions).toContainEqual(expect.objectContaining({ type: 'Available', status: 'True' }));
    const discovery = await authDiscovery();
    expect(discovery.stderr).toBe('');
    expect(JSON.parse(discovery.stdout)).toMatchObject({ groupVersion: 'auth.infrahq.com/v1alpha1' });
  });

  it('serves /metrics over HTTPS to a ServiceAccount token allowed to get it; refuses a scrape without one, and through the service proxy', async () => {
    const scraper = uniqueName('scraper');
    await kubectlOk('hub', ['-n', namespace, 'create', 'serviceaccount', scraper]);
    await kubectlOk('hub', ['create', 'clusterrole', scraper, '--verb=get', '--non-resource-url=/metrics']);
    await kubectlOk('hub', ['create', 'clusterrolebinding', scraper, `--clusterrole=${scraper}`, `--serviceaccount=${namespace}:${scraper}`]);
    const forward = await portForward('hub', `service/${operator.deployment}-metrics`, 8444);
    try {
      const token = (await kubectlOk('hub', ['-n', namespace, 'create', 'token', scraper, '--duration=10m'])).trim();
      const metrics = `https://127.0.0.1:${forward.port}/metrics`;
      const scrape = await https(metrics, { skipVerify: true, headers: { authorization: `Bearer ${token}` } });
      expect(scrape.status, scrape.text).toBe(200);
      // Every replica has a serving certificate, leader or standby.
      expect(scrape.text).toMatch(/^infra_operator_serving_certificate_expiry_timestamp_seconds \d+/m);
      const bare = await https(metrics, { skipVerify: true });
      expect(bare.status).toBe(401);
      expect(bare.text).toContain('needs a bearer token');
      // The API server's service proxy drops the caller's token and presents none of its
      // own, so the listener cannot tell who scrapes (docs/adr/0010-kind-without-a-registry.md).
      const proxied = await kubectl('hub', [
        'get',
        '--raw',
        `/api/v1/namespaces/${namespace}/services/https:${operator.deployment}-metrics:https-metrics/proxy/metrics`,
      ]);
      expect(proxied.code).not.toBe(0);
      // kubectl words the backend's 401 as its own.
      expect(proxied.stderr).toContain('You must be logged in to the server');
    } finally {
      forward.stop();
      await kubectl('hub', ['delete', 'clusterrolebinding,clusterrole', scraper]);
      await kubectl('hub', ['-n', namespace, 'delete', 'serviceaccount', scraper]);
    }
  });

  it('has resource requests on every container, and its PodDisruptionBudget refuses the eviction that would leave no operator', async () => {
    for (const program of [operator, connector]) {
      const deployment = await json<{ spec: { template: Pod } }>(program.cluster, ['-n', namespace, 'get', `deployment/${program.deployment}`]);
      for (const c of deployment.spec.template.spec.containers) expect(Object.keys(c.resources?.requests ?? {}).sort()).toEqual(['cpu', 'memory']);
    }
    const pdb = await json<{ spec: { minAvailable?: number }; status: { currentHealthy: number; disruptionsAllowed: number } }>('hub', [
      '-n',
      namespace,
      'get',
      'pdb',
      operator.deployment,
    ]);
    expect(pdb.spec.minAvailable).toBe(1);
    expect(pdb.status).toMatchObject({ currentHealthy: 2, disruptionsAllowed: 1 });

    const [first, second] = (await readyPods('hub', operator.deployment)).map((p) => p.metadata.name);
    const evict = (pod: string) =>
      kubectl('hub', ['create', '--raw', `/api/v1/namespaces/${namespace}/pods/${pod}/eviction`, '-f', '-'], {
        input: JSON.stringify({ apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: pod, namespace } }),
      });
    expect((await evict(first!)).code).toBe(0);
    const refused = await evict(second!);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/disruption budget/);
    await kubectlOk('hub', ['-n', namespace, 'rollout', 'status', `deployment/${operator.deployment}`, '--timeout=180s']);
    await eventually(async () => expect(await readyPods('hub', operator.deployment)).toHaveLength(2), 120_000, 1000);
  }, 300_000);

  it('rolls the operator Deployment while clients call the auth API: at most one retried failure per client', async () => {
    const load = loadOnAuthAPI(240_000);
    await kubectlOk('hub', ['-n', namespace, 'rollout', 'restart', `deployment/${operator.deployment}`]);
    await kubectlOk('hub', ['-n', namespace, 'rollout', 'status', `deployment/${operator.deployment}`, '--timeout=200s']);
    const results = await load.stop();
    for (const r of results) {
      expect(r.requests).toBeGreaterThan(10);
      expect(r.retried, r.errors.join('\n')).toBeLessThanOrEqual(1);
      expect(r.errors.filter((e) => e.startsWith('retry:'))).toEqual([]);
    }
  }, 300_000);

  it(`hands the Lease to another replica within ${leaderTakeoverMs / 1000} s when the leader pod is deleted, and the auth API keeps answering`, async () => {
    const leader = await eventually(async () => {
      const holder = await leaseHolder();
      expect((await readyPods('hub', operator.deployment)).map((p) => p.metadata.name)).toContain(holder);
      return holder!;
    }, 60_000);
    const load = loadOnAuthAPI(60_000);
    const deleted = Date.now();
    await kubectlOk('hub', ['-n', namespace, 'delete', 'pod', leader, '--wait=false']);
    // The standby, or the pod replacing the leader if it starts first: any other live replica.
    await eventually(
      async () => {
        const holder = await leaseHolder();
        expect(holder).not.toBe(leader);
        expect((await readyPods('hub', operator.deployment)).map((p) => p.metadata.name)).toContain(holder);
      },
      leaderTakeoverMs,
      250,
    );
    expect(Date.now() - deleted).toBeLessThan(leaderTakeoverMs);
    for (const r of await load.stop()) {
      expect(r.retried, r.errors.join('\n')).toBeLessThanOrEqual(1);
      expect(r.errors.filter((e) => e.startsWith('retry:'))).toEqual([]);
    }
    await kubectlOk('hub', ['-n', namespace, 'rollout', 'status', `deployment/${operator.deployment}`, '--timeout=180s']);
  }, 300_000);

  it('keeps the spoke bindings when the connector restarts while the hub is unreachable, and converges after', async () => {
    const web = uniqueName('web');
    const [ann, ben] = [`${uniqueName('ann')}@example.com`, `${uniqueName('ben')}@example.com`];
    const grant = (name: string, user: string) =>
      stringify({ apiVersion: 'infrahq.com/v1alpha1', kind: 'Grant', metadata: { name }, spec: { user, role: 'view', resource: `${destination}.${web}` } });
    const bindings = async () =>
      kubectlOk('spoke', ['get', 'rolebindings', '-n', web, '-l', 'app.kubernetes.io/managed-by=infra', '-o', 'jsonpath={.items[*].subjects[*].name}']);
    const connectorPods = ['-n', namespace, 'get', 'pods', '-l', `app.kubernetes.io/name=${connector.deployment}`, '-o', 'jsonpath={.items[*].metadata.name}'];
    await kubectlOk('spoke', ['create', 'namespace', web]);
    const annGrant = uniqueName('ann-view');
    await kubectlOk('hub', ['apply', '-f', '-'], { input: grant(annGrant, ann) });
    await eventually(async () => expect(await bindings()).toBe(ann), 60_000, 500);

    // The hub is unreachable from the spoke's pods: the spoke node drops what its pods
    // send to the hub node (both containers of this kind-up).
    const rule = ['FORWARD', '-s', '10.244.0.0/16', '-d', await hubNodeAddress(), '-j', 'DROP'];
    await dockerExec(spokeNode, ['iptables', '-I', ...rule]);
    try {
      const old = (await kubectlOk('spoke', connectorPods)).trim();
      await kubectlOk('spoke', ['-n', namespace, 'delete', 'pod', old, '--timeout=60s']);
      // While it is away the hub changes: ann's Grant goes, ben's comes.
      await kubectlOk('hub', ['delete', 'grant', annGrant]);
      await kubectlOk('hub', ['apply', '-f', '-'], { input: grant(uniqueName('ben-view'), ben) });
      await eventually(async () => expect((await kubectlOk('spoke', connectorPods)).trim()).toMatch(/^infra-connector-\S+$/), 60_000, 500);
      const until = Date.now() + unreachableMs;
      while (Date.now() < until) {
        expect(await bindings()).toBe(ann);
        await new Promise((r) => setTimeout(r, 2000));
      }
    } finally {
      await dockerExec(spokeNode, ['iptables', '-D', ...rule]);
    }
    await eventually(async () => expect(await bindings()).toBe(ben), 120_000, 1000);
    await kubectlOk('spoke', ['-n', namespace, 'rollout', 'status', `deployment/${connector.deployment}`, '--timeout=120s']);
    await kubectlOk('spoke', ['delete', 'namespace', web, '--wait=false']);
  }, 400_000);
});

async function dockerExec(container: string, args: string[]): Promise<string> {
  const result = await runCommand('docker', ['exec', container, ...args]);
  if (result.code !== 0) throw new Error(`docker exec ${container} ${args.join(' ')} failed (exit ${result.code}): ${result.stderr}`);
  return result.stdout;
}

/** The hub node's address on the kind network, where the spoke's connector reaches the hub. */
async function hubNodeAddress(): Promise<string> {
  const result = await runCommand('docker', ['inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', hubNode]);
  if (result.code !== 0) throw new Error(`docker inspect ${hubNode} failed: ${result.stderr}`);
  return result.stdout.trim();
}

/** kubectl port-forward to a Service's port on a free local port, until stop(). */
async function portForward(target: ClusterName, resource: string, remotePort: number): Promise<{ port: number; stop(): void }> {
  const child = spawn('kubectl', ['--kubeconfig', cluster(target).adminKubeconfig, '-n', namespace, 'port-forward', resource, `:${remotePort}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`kubectl port-forward ${resource} did not start in 30 s: ${output}`)), 30_000);
    for (const stream of [child.stdout, child.stderr]) {
      stream.setEncoding('utf8').on('data', (chunk: string) => {
        output += chunk;
        const forwarding = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(output);
        if (forwarding) {
          clearTimeout(timer);
          resolve(Number(forwarding[1]));
        }
      });
    }
    child.once('exit', (code) => reject(new Error(`kubectl port-forward ${resource} exited (${code}): ${output}`)));
  });
  return { port, stop: () => child.kill() };
}
