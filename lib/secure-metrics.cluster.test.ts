// The HTTPS /metrics listener against the real hub kube-apiserver: a ServiceAccount token
// whose user may get /metrics scrapes; no token, a token the API server does not know, and
// a ServiceAccount without that rule are refused with what to do; nothing but /metrics is
// served there.
import type { AddressInfo } from 'node:net';
import { Gauge, Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { https } from '../hack/local-infra/https.ts';
import { cluster, kubectlOk, uniqueName } from '../test/cluster.ts';
import { loadKubeConfig } from './kube.ts';
import { createLogger } from './log.ts';
import { RestClient } from './rest.ts';
import { listenSecureMetrics } from './secure-metrics.ts';
import { close } from './serve.ts';
import type { Server } from 'node:https';

let server: Server;
let namespace: string;
const readerRole = uniqueName('metrics-reader');

const get = (path: string, token?: string) =>
  https(`https://127.0.0.1:${(server.address() as AddressInfo).port}${path}`, { skipVerify: true, headers: token ? { authorization: `Bearer ${token}` } : {} });

const tokenOf = (serviceAccount: string) => kubectlOk('hub', ['create', 'token', serviceAccount, '-n', namespace, '--duration=10m']);

beforeAll(async () => {
  namespace = uniqueName('metrics');
  await kubectlOk('hub', ['create', 'namespace', namespace]);
  await kubectlOk('hub', ['create', 'serviceaccount', 'scraper', '-n', namespace]);
  await kubectlOk('hub', ['create', 'serviceaccount', 'bystander', '-n', namespace]);
  await kubectlOk('hub', ['create', 'clusterrole', readerRole, '--verb=get', '--non-resource-url=/metrics']);
  await kubectlOk('hub', ['create', 'clusterrolebinding', readerRole, `--clusterrole=${readerRole}`, `--serviceaccount=${namespace}:scraper`]);
  const registry = new Registry();
  new Gauge({ name: 'infra_test_up', help: 'a metric to find', registers: [registry] }).set(1);
  server = (await listenSecureMetrics('127.0.0.1:0', {
    metrics: registry,
    api: new RestClient(loadKubeConfig(cluster('hub').adminKubeconfig)),
    logger: createLogger('secure-metrics-test', 'silent'),
    dnsNames: ['localhost'],
  }))!;
});

afterAll(async () => {
  if (server) await close(server);
  await kubectlOk('hub', ['delete', 'namespace', namespace, '--wait=false']);
  await kubectlOk('hub', ['delete', 'clusterrolebinding,clusterrole', readerRole]);
});

describe('the HTTPS /metrics listener', () => {
  it('serves /metrics to a ServiceAccount allowed to get the non-resource URL /metrics', async () => {
    const scrape = await get('/metrics', await tokenOf('scraper'));
    expect(scrape.status, scrape.text).toBe(200);
    expect(scrape.text).toContain('infra_test_up 1');
  });

  it('refuses a scrape without a token, or with one the API server does not know, with 401 and what to send', async () => {
    const bare = await get('/metrics');
    expect(bare.status).toBe(401);
    expect(bare.text).toContain('needs a bearer token: a ServiceAccount token');
    const unknown = await get('/metrics', 'not-a-token');
    expect(unknown.status).toBe(401);
    expect(unknown.text).toContain('the API server did not authenticate the bearer token');
  });

  it('refuses an authenticated user without the rule with 403 naming the user and the rule to bind', async () => {
    const refused = await get('/metrics', await tokenOf('bystander'));
    expect(refused.status).toBe(403);
    expect(refused.text).toContain(
      `system:serviceaccount:${namespace}:bystander may not get /metrics: bind it to a ClusterRole with the rule nonResourceURLs: ["/metrics"], verbs: ["get"]`,
    );
  });

  it('serves nothing else: the probes stay on the health listener', async () => {
    const token = await tokenOf('scraper');
    for (const path of ['/healthz', '/readyz', '/']) expect((await get(path, token)).status).toBe(404);
  });
});
