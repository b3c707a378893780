// Direct trust against the proxy, side by side in one run: a user's GET of one ConfigMap
// (a) straight to a spoke kube-apiserver that verifies the Infra token itself (Destination
//     trust Direct, started with the AuthenticationConfiguration of api/authentication-config.ts),
// (b) through the connector's proxy (verify, impersonate, forward) to the same API server,
// (c) straight to that API server with the admin client certificate: the floor, no token.
// Latency: the three doors interleaved request by request, one at a time, so a slow moment of
// the machine falls on all three alike. CPU per request: each door alone under a closed loop,
// the API server's CPU (and the connector's, for the proxy) over the requests served.
// Revocation: a Grant deleted in the hub, timed until a GET through each mode is forbidden.
// Its control plane's spoke takes --authentication-config (Scenario.spokeAuthenticationConfig).
import { writeFile } from 'node:fs/promises';
import { Agent } from 'node:https';
import { stringify } from 'yaml';
import { authenticationConfiguration } from '../../api/authentication-config.ts';
import { https } from '../../hack/local-infra/https.ts';
import { eventually } from '../../hack/local-infra/programs.ts';
import { upstreamFromKubeConfig } from '../../connector/proxy/upstream.ts';
import { KubeConfig } from '@kubernetes/client-node';
import { boundedLoad, infra, kubectl, processesCpuMs, uniqueName, waitForQuiet, type Scenario } from '../harness.ts';
import { median, percentile, type Row } from '../table.ts';

const title = 'Direct trust';
const concurrency = 8;
const pollMs = 20;

interface Door {
  name: string;
  url: string;
  agent: Agent;
  headers: Record<string, string>;
  /** Whose CPU serves its requests. */
  pids: number[];
}

async function get(door: Door): Promise<number> {
  const res = await https(door.url, { agent: door.agent, headers: door.headers });
  return res.status;
}

async function getOk(door: Door): Promise<void> {
  const status = await get(door);
  if (status !== 200) throw new Error(`${door.name}: GET ${door.url} answered ${status}`);
}

export const directTrust: Scenario = {
  id: 'direct-trust',
  title,
  spokeAuthenticationConfig: true,
  async run(ctx) {
    const sizes = ctx.quick
      ? { warmup: 100, sequential: 200, loaded: 500, seconds: 5, revocations: 2 }
      : { warmup: 1000, sequential: 3000, loaded: 10_000, seconds: 10, revocations: 10 };
    const authenticationConfig = ctx.spokeAuthenticationConfig!;
    const { controlPlane } = ctx;
    const { hub, spoke } = controlPlane.state.clusters;
    const destination = uniqueName('bench-direct');
    const installed = await infra(ctx, destination);
    await kubectl(hub.adminKubeconfig, ['patch', 'destination', destination, '--type=merge', '-p', JSON.stringify({ spec: { trust: 'Direct' } })]);
    await writeFile(
      authenticationConfig,
      stringify(authenticationConfiguration({ issuer: installed.operator.publicURL, issuerCA: installed.operatorCA, destination })),
    );
    await controlPlane.restart('spoke');

    const namespace = uniqueName('bench-direct');
    await kubectl(spoke.adminKubeconfig, ['create', 'namespace', namespace]);
    await kubectl(spoke.adminKubeconfig, ['create', 'configmap', 'bench', '-n', namespace, '--from-literal=key=value']);
    const email = `${uniqueName('bench-direct')}@example.com`;
    const password = 'correct horse battery staple';
    await installed.addUser(email, password);
    const grantName = uniqueName('bench-direct');
    const grant = stringify({
      apiVersion: 'infrahq.com/v1alpha1',
      kind: 'Grant',
      metadata: { name: grantName },
      spec: { user: email, role: 'view', resource: `${destination}.${namespace}` },
    });
    await kubectl(hub.adminKubeconfig, ['apply', '-f', '-'], grant);

    const path = `/api/v1/namespaces/${namespace}/configmaps/bench`;
    const spokeConfig = new KubeConfig();
    spokeConfig.loadFromFile(spoke.adminKubeconfig);
    const upstream = await upstreamFromKubeConfig(spokeConfig);
    const proxyCA = Buffer.from(
      await kubectl(hub.adminKubeconfig, ['get', 'destination', destination, '-o', 'jsonpath={.spec.caBundle}']),
      'base64',
    ).toString();
    const agent = (options: { ca?: string | Buffer; cert?: string | Buffer; key?: string | Buffer }) => {
      const a = new Agent({ keepAlive: true, maxSockets: concurrency, ...options });
      ctx.defer(() => a.destroy());
      return a;
    };
    const apiServerPid = () => controlPlane.state.clusters.spoke.pid;
    const direct: Door = { name: 'direct', url: `${spoke.server}${path}`, agent: agent({ ca: upstream.ca }), headers: {}, pids: [apiServerPid()] };
    const proxy: Door = {
      name: 'proxy',
      url: `${installed.connector.proxyURL}${path}`,
      agent: agent({ ca: proxyCA }),
      headers: {},
      pids: [installed.connector.process.pid!, apiServerPid()],
    };
    const admin: Door = {
      name: 'admin-direct',
      url: `${spoke.server}${path}`,
      agent: agent({ ca: upstream.ca, cert: upstream.cert, key: upstream.key }),
      headers: {},
      pids: [apiServerPid()],
    };
    const doors = [direct, proxy, admin];
    const refreshToken = async () => {
      const authorization = `Bearer ${await installed.token(email, password)}`;
      direct.headers.authorization = proxy.headers.authorization = authorization;
    };
    await refreshToken();
    // The Grant reaches the spoke through the operator and the connector, the keys reach the API server.
    await eventually(() => Promise.all([getOk(direct), getOk(proxy)]), 60_000, 200);

    ctx.log(`warm-up: ${sizes.warmup} requests each`);
    for (const door of doors) await boundedLoad(sizes.warmup, concurrency, Date.now() + sizes.seconds * 1000, () => getOk(door));

    // Latency: one at a time, the three doors taking turns request by request.
    await waitForQuiet(ctx);
    await refreshToken();
    const latencies = new Map(doors.map((d) => [d, [] as number[]]));
    await boundedLoad(sizes.sequential * doors.length, 1, Date.now() + sizes.seconds * 3 * 1000, async (i) => {
      const door = doors[i % doors.length]!;
      const sent = performance.now();
      await getOk(door);
      latencies.get(door)!.push(performance.now() - sent);
    });

    // CPU per request: each door alone, a closed loop, the serving processes' CPU over the requests served.
    const cpuPerRequest = new Map<Door, number>();
    for (const door of doors) {
      await waitForQuiet(ctx);
      const before = await processesCpuMs(door.pids);
      const served = await boundedLoad(sizes.loaded, concurrency, Date.now() + sizes.seconds * 1000, () => getOk(door));
      cpuPerRequest.set(door, ((await processesCpuMs(door.pids)) - before) / served);
    }

    // Revocation: delete the Grant, poll both token doors until each is forbidden; put it back.
    const revoked = new Map<Door, number[]>([
      [direct, []],
      [proxy, []],
    ]);
    for (let sample = 0; sample < sizes.revocations; sample++) {
      await refreshToken();
      await eventually(() => Promise.all([getOk(direct), getOk(proxy)]), 60_000, pollMs);
      const start = performance.now();
      await kubectl(hub.adminKubeconfig, ['delete', 'grant', grantName]);
      await Promise.all(
        [direct, proxy].map(async (door) => {
          const deadline = Date.now() + 30_000;
          for (;;) {
            const status = await get(door);
            if (status === 403) break;
            if (Date.now() > deadline) throw new Error(`${door.name}: still ${status} 30 s after the Grant was deleted`);
            await new Promise((resolve) => setTimeout(resolve, pollMs));
          }
          revoked.get(door)!.push(performance.now() - start);
        }),
      );
      await kubectl(hub.adminKubeconfig, ['apply', '-f', '-'], grant);
    }

    const p = (door: Door, q: number) => percentile(latencies.get(door)!, q);
    const note = `GET of one ConfigMap (view Grant on its namespace), ${sizes.sequential.toLocaleString('en-US')} requests per door one at a time, the three interleaved`;
    const floor = 'admin-direct: the same API server with the admin client certificate, no token (the floor)';
    const rows: Row[] = [];
    for (const door of [direct, proxy]) {
      rows.push(
        { scenario: title, metric: `${door.name}: request p50`, unit: 'ms', ours: p(door, 50), baseline: p(admin, 50), baselineLabel: floor, note },
        {
          scenario: title,
          metric: `${door.name}: request p99`,
          unit: 'ms',
          ours: p(door, 99),
          baseline: p(admin, 99),
          baselineLabel: floor,
          note: `p99: direct ${p(direct, 99).toFixed(2)} ms, proxy ${p(proxy, 99).toFixed(2)} ms, admin-direct ${p(admin, 99).toFixed(2)} ms`,
        },
        {
          scenario: title,
          metric: `${door.name}: CPU per request`,
          unit: 'ms',
          ours: cpuPerRequest.get(door)!,
          baseline: cpuPerRequest.get(admin)!,
          baselineLabel: floor,
          note: `each door alone, ${concurrency} in flight, up to ${sizes.loaded.toLocaleString('en-US')} requests or ${sizes.seconds} s; the API server's CPU${door === proxy ? ' plus the connector’s' : ''} over the requests served`,
        },
      );
    }
    for (const door of [direct, proxy]) {
      rows.push({
        scenario: title,
        metric: `${door.name}: revoked Grant → forbidden, p50`,
        unit: 'ms',
        ours: median(revoked.get(door)!),
        ...(door === direct ? { baseline: median(revoked.get(proxy)!), baselineLabel: 'the same revocation through the proxy' } : {}),
        note: `${sizes.revocations} Grant deletions in the hub, each timed from kubectl delete until a GET in that mode answers 403 (polled every ${pollMs} ms); all: ${revoked
          .get(door)!
          .map((ms) => ms.toFixed(0))
          .join(', ')} ms; admin-direct has no Grant to revoke`,
      });
    }
    return rows;
  },
};
