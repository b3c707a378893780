// The proxy in front of the REAL spoke kube-apiserver, driven by the REAL kubectl: the
// connector authenticates upstream with its own client certificate and may only
// impersonate; everything a user can do comes from RBAC for the impersonated user and
// groups. The proxy runs as in the connector, in its own thread (thread.ts).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, request, type Server } from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { connect } from 'node:tls';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterCA, clientKubeconfig } from '../../hack/controlplane/controlplane.ts';
import { eventually } from '../../hack/local-infra/programs.ts';
import { createLogger } from '../../lib/log.ts';
import { createCertificateAuthority, type CertificateAuthority } from '../../lib/pki.ts';
import { type SigningKey, publicJwks, generateSigningKey, issueToken } from '../../api/tokens.ts';
import { cluster, kubectl, kubectlOk, uniqueName } from '../../test/cluster.ts';
import { JwksCache } from './jwks.ts';
import { ProxyThread } from './thread.ts';
import { upstreamFromKubeConfig } from './upstream.ts';

const destination = 'spoke';
const id = uniqueName('proxy');
const ns = id;
const connectorUser = `infra-connector-${id}`;
const alice = `alice-${id}@example.com`; // reads pods in ns through her group
const bob = `bob-${id}@example.com`; // may exec into pods in ns
const devs = `devs-${id}`;
const pod = 'web-0';

let dir: string;
let proxyCA: CertificateAuthority;
let jwksServer: Server;
let issuer: string;
let signingKey: SigningKey;
let keys: JwksCache;
/** The keys the issuer's JWKS serves. */
let served: SigningKey[];
let proxy: ProxyThread;
let proxyUrl: string;
/** The proxy thread's failures: none is expected. */
const threadFailures: Error[] = [];
const kubeconfigs: Record<string, string> = {};

const rbac = [
  { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } },
  // The connector's own identity: it may impersonate users and groups, and nothing else.
  {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: `${id}-impersonator` },
    rules: [{ apiGroups: [''], resources: ['users', 'groups'], verbs: ['impersonate'] }],
  },
  {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: `${id}-impersonator` },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: `${id}-impersonator` },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: connectorUser }],
  },
  // Roles with explicit rules (the built-in view/edit rely on aggregation).
  {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: `${id}-pod-reader` },
    rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] }],
  },
  {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: `${id}-pod-exec` },
    rules: [
      { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: [''], resources: ['pods/exec', 'pods/portforward'], verbs: ['get', 'create'] },
    ],
  },
  {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: `${id}-devs`, namespace: ns },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: `${id}-pod-reader` },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: devs }],
  },
  {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: `${id}-bob`, namespace: ns },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: `${id}-pod-exec` },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: bob }],
  },
];

const podManifest = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: pod, namespace: ns },
  spec: {
    automountServiceAccountToken: false,
    // Never scheduled, on a cluster with nodes too: exec and port-forward end at the API server.
    nodeSelector: { 'infra.test/no-such-node': 'true' },
    containers: [{ name: 'web', image: 'registry.k8s.io/pause:3.10' }],
  },
};

async function tokenFor(subject: string, groups: string[]): Promise<string> {
  return (await issueToken({ keys: signingKey, issuer, audience: destination, subject, groups, lifetimeMs: 10 * 60_000 })).token;
}

/** A kubeconfig that points kubectl at the proxy, trusting the proxy's CA, with an Infra token. */
async function proxyKubeconfig(name: string, token: string): Promise<string> {
  const path = join(dir, `${name}.kubeconfig`);
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: destination, cluster: { server: proxyUrl, 'certificate-authority-data': Buffer.from(proxyCA.cert).toString('base64') } }],
    users: [{ name, user: { token } }],
    contexts: [{ name: destination, context: { cluster: destination, user: name } }],
    'current-context': destination,
  };
  await writeFile(path, stringify(config), { mode: 0o600 });
  return path;
}

/** A proxy thread for this suite's destination and issuer, on a free loopback port. */
function startThread(options: Pick<Parameters<typeof ProxyThread.start>[0], 'upstream' | 'tls'> & { port?: number }): Promise<ProxyThread> {
  return ProxyThread.start({
    ...options,
    destination,
    issuer,
    keys,
    listen: { host: '127.0.0.1', port: options.port ?? 0 },
    logger: createLogger('proxy-cluster-test', 'silent'),
    onFailure: (error) => threadFailures.push(error),
  });
}

const viaProxy = (who: string, args: string[]) => kubectl('spoke', args, { kubeconfig: kubeconfigs[who]! });

beforeAll(async () => {
  const spoke = cluster('spoke');
  dir = await mkdtemp(join(tmpdir(), 'infra-proxy-test-'));
  await kubectlOk('spoke', ['apply', '-f', '-'], { input: rbac.map((o) => JSON.stringify(o)).join('\n') });
  // Pods need it to be admitted. The local control plane has no kube-controller-manager to
  // create it; a real cluster's creates it at once, and may win the race with this apply.
  const defaultServiceAccount = { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: ns } };
  await eventually(() => kubectlOk('spoke', ['apply', '-f', '-'], { input: JSON.stringify(defaultServiceAccount) }), 10_000);

  // The issuer's JWKS, served over HTTPS like the operator's /openid/v1/jwks.
  const hubCA = await createCertificateAuthority('test hub CA');
  const hubServing = await hubCA.issue({ commonName: '127.0.0.1', ipAddresses: ['127.0.0.1'], usage: 'server' });
  signingKey = await generateSigningKey();
  served = [signingKey];
  jwksServer = createServer(hubServing, (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(publicJwks(served))));
  jwksServer.listen(0, '127.0.0.1');
  await once(jwksServer, 'listening');
  issuer = `https://127.0.0.1:${(jwksServer.address() as AddressInfo).port}`;
  // The connector's main thread fetches the keys; the proxy thread gets a copy.
  keys = new JwksCache({
    issuer,
    ca: hubCA.cert,
    logger: createLogger('proxy-cluster-test', 'silent'),
    registry: new Registry(),
    unknownKidRefetchIntervalMs: 0,
  });
  await keys.start();

  // The connector's credentials for the spoke, as production gets them: a kubeconfig for
  // a user that may only impersonate.
  const connectorCert = await (await clusterCA(spoke, 'client')).issue({ commonName: connectorUser, usage: 'client', validFor: { hours: 1 } });
  const kc = new KubeConfig();
  kc.loadFromString(
    clientKubeconfig({ cluster: 'spoke', server: spoke.server, ca: await readFile(spoke.files.servingCA, 'utf8'), user: connectorUser, client: connectorCert }),
  );

  proxyCA = await createCertificateAuthority('test infra-connector CA');
  const serving = await proxyCA.issue({ commonName: 'infra-connector', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], usage: 'server' });
  proxy = await startThread({ upstream: await upstreamFromKubeConfig(kc), tls: serving });
  proxyUrl = `https://127.0.0.1:${proxy.address.port}`;

  kubeconfigs.alice = await proxyKubeconfig('alice', await tokenFor(alice, [devs]));
  kubeconfigs.bob = await proxyKubeconfig('bob', await tokenFor(bob, []));
});

afterAll(async () => {
  await proxy?.stop();
  keys?.stop();
  jwksServer?.closeAllConnections();
  jwksServer?.close();
  await kubectl('spoke', ['delete', 'clusterrole,clusterrolebinding', `${id}-impersonator`, '--ignore-not-found']);
  await kubectl('spoke', ['delete', 'clusterrole', `${id}-pod-reader`, `${id}-pod-exec`, '--ignore-not-found']);
  await kubectl('spoke', ['delete', 'namespace', ns, '--wait=false', '--ignore-not-found']);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('kubectl through the proxy', () => {
  it('lists pods where the impersonated group may', async () => {
    const result = await viaProxy('alice', ['get', 'pods', '-n', ns]);
    expect(result.stderr).toContain(`No resources found in ${ns} namespace.`);
    expect(result.code).toBe(0);
  });

  it('is forbidden elsewhere, as the impersonated user', async () => {
    const result = await viaProxy('alice', ['get', 'pods', '-n', 'default']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(`User "${alice}" cannot list resource "pods" in API group "" in the namespace "default"`);
  });

  it('answers auth can-i for the impersonated user and groups', async () => {
    const here = await viaProxy('alice', ['auth', 'can-i', 'list', 'pods', '-n', ns]);
    expect(here.stdout.trim()).toBe('yes');
    const there = await viaProxy('alice', ['auth', 'can-i', 'list', 'pods', '-n', 'default']);
    expect(there.stdout.trim()).toBe('no');
    const whoami = JSON.parse((await viaProxy('alice', ['auth', 'whoami', '-o', 'json'])).stdout) as {
      status: { userInfo: { username: string; groups: string[] } };
    };
    expect(whoami.status.userInfo.username).toBe(alice);
    expect(whoami.status.userInfo.groups).toEqual([devs, 'system:authenticated']);
  });

  it('never lets a token group with a leading space become system:masters at the API server', async () => {
    const kubeconfig = await proxyKubeconfig('padded-group', await tokenFor(alice, [' system:masters', devs]));
    const whoami = JSON.parse((await kubectl('spoke', ['auth', 'whoami', '-o', 'json'], { kubeconfig })).stdout) as {
      status: { userInfo: { groups: string[] } };
    };
    expect(whoami.status.userInfo.groups).toEqual([devs, 'system:authenticated']);
    const secrets = await kubectl('spoke', ['get', 'secrets', '-n', 'kube-system'], { kubeconfig });
    expect(secrets.code).not.toBe(0);
    expect(secrets.stderr).toContain('forbidden');
  });

  it('refuses kubectl --as / --as-group', async () => {
    for (const flag of [
      ['--as', 'someone'],
      ['--as-group', 'system:masters', '--as', alice],
      ['--as-uid', '1234', '--as', alice],
    ]) {
      const result = await viaProxy('alice', [...flag, 'get', 'pods', '-n', ns]);
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain('impersonation headers are not accepted');
    }
  });

  it('refuses a token for another destination, and no token', async () => {
    kubeconfigs.other = await proxyKubeconfig(
      'other',
      (await issueToken({ keys: signingKey, issuer, audience: 'elsewhere', subject: alice, groups: [devs] })).token,
    );
    const result = await viaProxy('other', ['get', 'pods', '-n', ns]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/Unauthorized|must be logged in/);
  });

  it('streams a watch: a pod created after the watch started shows up while kubectl is still running', async () => {
    const watch = spawn('kubectl', ['--kubeconfig', kubeconfigs.alice!, 'get', 'pods', '-w', '-n', ns, '--request-timeout=0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    watch.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    watch.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const exited = once(watch, 'exit');
    try {
      // Give kubectl time to list and open the watch; the events after the first one below
      // show the stream stays open either way.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(stdout).not.toContain(pod);
      await kubectlOk('spoke', ['apply', '-f', '-'], { input: JSON.stringify(podManifest) });
      await expect.poll(() => stdout, { timeout: 10_000, interval: 100 }).toMatch(new RegExp(`^${pod}\\s+0/1\\s+Pending`, 'm'));
      // A second event on the same open stream.
      await kubectlOk('spoke', ['label', 'pod', pod, '-n', ns, 'seen=yes']);
      await kubectlOk('spoke', ['delete', 'pod', pod, '-n', ns, '--wait=false']);
      await kubectlOk('spoke', ['apply', '-f', '-'], { input: JSON.stringify(podManifest) });
      await expect.poll(() => stdout.split('\n').filter((line) => line.startsWith(pod)).length, { timeout: 10_000, interval: 100 }).toBeGreaterThanOrEqual(2);
      expect(watch.exitCode).toBeNull();
    } finally {
      watch.kill('SIGTERM');
      await exited;
    }
    expect(stderr).not.toContain('error');
  });
});

/** An upgrade request like kubectl's SPDY exec, through the proxy; resolves with the API server's answer. */
function upgradeRequest(
  token: string,
  method: string,
  path: string,
  headers: Record<string, string | string[]>,
): Promise<{ status: number; body: string; socket?: Socket }> {
  return new Promise((resolve, reject) => {
    const req = request(`${proxyUrl}${path}`, {
      method,
      ca: proxyCA.cert,
      headers: { authorization: `Bearer ${token}`, connection: 'Upgrade', ...headers },
      timeout: 15_000,
    });
    req.on('upgrade', (res: IncomingMessage, socket: Socket) => resolve({ status: res.statusCode ?? 0, body: '', socket }));
    req.on('response', (res: IncomingMessage) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('upgrade request timed out')));
    req.on('error', reject);
    req.end();
  });
}

describe('upgrade requests (exec, port-forward) through the proxy', () => {
  const spdy = { upgrade: 'SPDY/3.1', 'x-stream-protocol-version': ['v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io'], 'content-length': '0' };
  const websocket = {
    upgrade: 'websocket',
    'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
    'sec-websocket-version': '13',
    'sec-websocket-protocol': 'v5.channel.k8s.io, v4.channel.k8s.io',
  };
  const exec = `/api/v1/namespaces/${ns}/pods/${pod}/exec?command=ls&stdout=true&stderr=true`;

  beforeAll(async () => {
    await kubectlOk('spoke', ['apply', '-f', '-'], { input: JSON.stringify(podManifest) });
  });

  it('reach the API server as the impersonated user: exec forbidden without pods/exec (SPDY and websocket)', async () => {
    const token = await tokenFor(alice, [devs]);
    // RBAC checks a websocket upgrade (GET) for `get` before `create`.
    for (const [method, headers, verb] of [
      ['POST', spdy, 'create'],
      ['GET', websocket, 'get'],
    ] as const) {
      const answer = await upgradeRequest(token, method, exec, headers);
      expect(answer.status).toBe(403);
      const status = JSON.parse(answer.body) as { kind: string; reason: string; message: string };
      expect(status.kind).toBe('Status');
      expect(status.reason).toBe('Forbidden');
      expect(status.message).toContain(`User "${alice}" cannot ${verb} resource "pods/exec" in API group "" in the namespace "${ns}"`);
    }
  });

  it('reach the API server as the impersonated user: exec allowed with pods/exec, then fails for want of a node', async () => {
    const token = await tokenFor(bob, []);
    for (const [method, headers] of [
      ['POST', spdy],
      ['GET', websocket],
    ] as const) {
      const answer = await upgradeRequest(token, method, exec, headers);
      answer.socket?.destroy();
      // Authorized: the API server went on to look for the pod's node and found none.
      expect(answer.status).toBe(400);
      expect(answer.body).toContain(`pod ${pod} does not have a host assigned`);
    }
    const forward = await upgradeRequest(token, 'POST', `/api/v1/namespaces/${ns}/pods/${pod}/portforward`, {
      ...spdy,
      'x-stream-protocol-version': 'portforward.k8s.io',
    });
    forward.socket?.destroy();
    expect(forward.status).toBe(400);
    expect(forward.body).toContain(`pod ${pod} does not have a host assigned`);
  });

  it('are refused before the API server with an impersonation header or a bad token', async () => {
    const token = await tokenFor(bob, []);
    const impersonating = await upgradeRequest(token, 'POST', exec, { ...spdy, 'Impersonate-User': 'system:admin' });
    expect(impersonating.status).toBe(403);
    expect(impersonating.body).toContain('impersonation headers are not accepted');
    const expired = await issueToken({ keys: signingKey, issuer, audience: destination, subject: bob, groups: [], now: new Date(Date.now() - 9 * 60_000) });
    const unauthorized = await upgradeRequest(expired.token, 'POST', exec, spdy);
    expect(unauthorized.status).toBe(401);
    expect(JSON.parse(unauthorized.body)).toMatchObject({ reason: 'Unauthorized', message: 'authentication failed' });
  });

  it('work with the real kubectl exec: forbidden for alice, passed to the API server for bob', async () => {
    const denied = await viaProxy('alice', ['exec', '-n', ns, pod, '--', 'ls']);
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain(`User "${alice}" cannot create resource "pods/exec"`);
    const allowed = await viaProxy('bob', ['exec', '-n', ns, pod, '--', 'ls']);
    expect(allowed.code).not.toBe(0);
    expect(allowed.stderr).toContain('does not have a host assigned');
  });
});

/** A GET through a proxy with an Infra token; resolves with the status code and body. */
function getThrough(url: string, token: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca: proxyCA.cert, headers: { authorization: `Bearer ${token}` }, agent: false, timeout: 15_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end();
  });
}

/** The common name of the certificate a new TLS connection to the proxy is served. */
async function servedCommonName(port: number): Promise<string> {
  const socket = connect({ host: '127.0.0.1', port, ca: proxyCA.cert, servername: 'localhost' });
  try {
    await once(socket, 'secureConnect');
    return String(socket.getPeerCertificate().subject?.CN);
  } finally {
    socket.destroy();
  }
}

describe('the proxy thread', () => {
  it('serves its metrics to the main thread: requests by code and refusals by reason', async () => {
    expect((await getThrough(`${proxyUrl}/api/v1/namespaces/${ns}/pods`, await tokenFor(alice, [devs]))).status).toBe(200);
    expect((await getThrough(`${proxyUrl}/api/v1/namespaces/${ns}/pods`, 'not-a-token')).status).toBe(401);
    const text = await proxy.metrics();
    const answered = /^infra_connector_proxy_requests_total\{type="request",code="200"\} (\d+)$/m.exec(text);
    expect(Number(answered?.[1])).toBeGreaterThan(0);
    expect(text).toMatch(/^infra_connector_proxy_authentication_failures_total\{reason="malformed"\} [1-9]/m);
  });

  it("verifies a token signed by the operator's new key: the main thread fetches it and copies it to the thread", async () => {
    const rotated = await generateSigningKey();
    served = [rotated, signingKey];
    const token = (await issueToken({ keys: rotated, issuer, audience: destination, subject: alice, groups: [devs], lifetimeMs: 60_000 })).token;
    expect(keys.kids).not.toContain(rotated.kid);
    expect((await getThrough(`${proxyUrl}/api/v1/namespaces/${ns}/pods`, token)).status).toBe(200);
    expect(keys.kids).toContain(rotated.kid);
    // A key the issuer does not publish stays unknown to both threads.
    const stranger = await generateSigningKey();
    const forged = (await issueToken({ keys: stranger, issuer, audience: destination, subject: alice, groups: [devs], lifetimeMs: 60_000 })).token;
    expect((await getThrough(`${proxyUrl}/api/v1/namespaces/${ns}/pods`, forged)).status).toBe(401);
  });

  it('puts a renewed certificate in use for new connections, and refuses a pair that does not match', async () => {
    const renewed = await proxyCA.issue({ commonName: 'infra-connector-renewed', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], usage: 'server' });
    const other = await proxyCA.issue({ commonName: 'infra-connector-other', dnsNames: ['localhost'], usage: 'server' });
    expect(() => proxy.useCertificate({ cert: renewed.cert, key: other.key })).toThrow();
    expect(await servedCommonName(proxy.address.port)).toBe('infra-connector');
    proxy.useCertificate(renewed);
    await expect.poll(() => servedCommonName(proxy.address.port), { timeout: 5_000 }).toBe('infra-connector-renewed');
    expect((await getThrough(`${proxyUrl}/api/v1/namespaces/${ns}/pods`, await tokenFor(alice, [devs]))).status).toBe(200);
  });

  it('asks the main thread for a rotating upstream token, and stops when told', async () => {
    // The connector's identity as a ServiceAccount token, as in a cluster.
    const account = `${id}-connector`;
    await kubectlOk('spoke', ['create', 'serviceaccount', account, '-n', ns]);
    await kubectlOk('spoke', ['create', 'clusterrolebinding', account, `--clusterrole=${id}-impersonator`, `--serviceaccount=${ns}:${account}`]);
    try {
      const saToken = (await kubectlOk('spoke', ['create', 'token', account, '-n', ns])).trim();
      let asked = 0;
      const spoke = cluster('spoke');
      const serving = await proxyCA.issue({ commonName: 'infra-connector', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], usage: 'server' });
      const thread = await startThread({
        upstream: { server: spoke.server, ca: await readFile(spoke.files.servingCA, 'utf8'), token: () => (asked++, saToken) },
        tls: serving,
      });
      const url = `https://127.0.0.1:${thread.address.port}/api/v1/namespaces/${ns}/pods`;
      const answer = await getThrough(url, await tokenFor(alice, [devs]));
      expect(answer.status, answer.body).toBe(200);
      expect(asked).toBe(1);
      // Reused within its 10 s: one ask for many requests.
      for (let i = 0; i < 5; i++) expect((await getThrough(url, await tokenFor(alice, [devs]))).status).toBe(200);
      expect(asked).toBe(1);

      await thread.stop();
      await expect(getThrough(url, await tokenFor(alice, [devs]))).rejects.toThrow(/ECONNREFUSED/);
      await expect(thread.metrics()).rejects.toThrow('the proxy thread has ended');
    } finally {
      await kubectl('spoke', ['delete', 'clusterrolebinding', account, '--ignore-not-found']);
    }
  });

  it('fails to start, with the reason, where it cannot listen', async () => {
    const serving = await proxyCA.issue({ commonName: 'infra-connector', dnsNames: ['localhost'], usage: 'server' });
    await expect(startThread({ upstream: { server: 'https://127.0.0.1:1' }, tls: serving, port: proxy.address.port })).rejects.toThrow(/EADDRINUSE/);
  });

  it('has not failed under the suite', () => {
    expect(threadFailures).toEqual([]);
  });
});
