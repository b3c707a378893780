// The public door's per-source rate limit, against the real operator and hub: a source
// that floods Logins, DeviceAuthorizations or unknown bearer keys is answered 429 with
// Retry-After, while other sources keep being served. On Linux all of 127.0.0.0/8 is
// loopback, so each source here is its own address (the client binds it).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../operator/credentials/passwords.ts';
import { applyHub, cluster, grantObject, kubectlOk, operatorServingCA, uniqueName } from '../test/cluster.ts';
import { https, type HttpsResponse } from '../hack/local-infra/https.ts';
import { eventually, startOperator, type RunningOperator } from '../hack/local-infra/programs.ts';

const authPath = '/apis/auth.infrahq.com/v1alpha1';
const ns = uniqueName('infra');
const destination = uniqueName('dest');
const carl = `${uniqueName('carl')}@example.com`;
const password = 'correct horse battery staple';
const burst = 5;
/** Bounds on every flood: more requests than the burst, and never longer than this. */
const maxRequests = 4 * burst;
const maxFloodMs = 20_000;
let operator: RunningOperator;
let operatorCA: string;

function send(from: string, plural: string, kind: string, spec: object, bearer?: string): Promise<HttpsResponse> {
  return https(`${operator.publicURL}${authPath}/${plural}`, {
    ca: operatorCA,
    localAddress: from,
    headers: bearer ? { authorization: `Bearer ${bearer}` } : {},
    body: { apiVersion: 'auth.infrahq.com/v1alpha1', kind, spec },
  });
}

/** Sends until the first 429, at most maxRequests times and for at most maxFloodMs; returns how many went before it, and it. */
async function flood(request: () => Promise<HttpsResponse>): Promise<{ before: number; refused: HttpsResponse | undefined }> {
  const deadline = Date.now() + maxFloodMs;
  for (let sent = 0; sent < maxRequests && Date.now() < deadline; sent++) {
    const res = await request();
    if (res.status === 429) return { before: sent, refused: res };
  }
  return { before: maxRequests, refused: undefined };
}

function expectTooManyRequests(res: HttpsResponse | undefined, from: string): void {
  expect(res?.status).toBe(429);
  expect(Number(res?.headers['retry-after'])).toBeGreaterThanOrEqual(1);
  expect(res?.json()).toMatchObject({
    kind: 'Status',
    reason: 'TooManyRequests',
    code: 429,
    message: expect.stringContaining(`too many logins, device authorizations or unknown keys from ${from}: try again in`),
  });
}

async function login(from: string): Promise<HttpsResponse> {
  return send(from, 'logins', 'Login', { email: carl, password });
}

beforeAll(async () => {
  await kubectlOk('hub', ['create', 'namespace', ns]);
  // A slow refill, so nothing the test does refills a bucket it has emptied.
  operator = await startOperator({ kubeconfig: cluster('hub').adminKubeconfig, namespace: ns, config: { rateLimit: { perSecond: 0.05, burst } } });
  operatorCA = await operatorServingCA(ns);
  await kubectlOk('hub', ['create', 'secret', 'generic', 'carl-password', '-n', ns, `--from-literal=hash=${await hashPassword(password)}`]);
  await applyHub([
    { apiVersion: 'infrahq.com/v1alpha1', kind: 'Destination', metadata: { name: destination }, spec: { kind: 'kubernetes' } },
    {
      apiVersion: 'infrahq.com/v1alpha1',
      kind: 'User',
      metadata: { name: uniqueName('carl') },
      spec: { email: carl, passwordSecretRef: { name: 'carl-password', key: 'hash' } },
    },
    grantObject(uniqueName('carl'), { user: carl, role: 'view', resource: destination }),
  ]);
  await eventually(async () => expect((await login('127.0.0.1')).status).toBe(201));
}, 120_000);

afterAll(async () => {
  await operator?.stop();
});

describe("the public door's per-source rate limit", () => {
  it('answers a source that floods Logins with 429 after its burst, and keeps serving another source', async () => {
    const from = '127.0.0.2';
    const { before, refused } = await flood(() => send(from, 'logins', 'Login', { email: `${uniqueName('nobody')}@example.com`, password: 'wrong' }));
    expect(before).toBe(burst);
    expectTooManyRequests(refused, from);
    // Held back even with the right password; another address logs in at once.
    expectTooManyRequests(await login(from), from);
    const other = await login('127.0.0.3');
    expect(other.status, other.text).toBe(201);
  });

  it('answers a source that floods DeviceAuthorizations with 429', async () => {
    const from = '127.0.0.4';
    const { before, refused } = await flood(() => send(from, 'deviceauthorizations', 'DeviceAuthorization', { provider: 'nowhere' }));
    expect(before).toBe(burst);
    expectTooManyRequests(refused, from);
  });

  it('holds back a source that sends unknown bearer keys, whatever key it sends next, and serves the same key from elsewhere', async () => {
    const from = '127.0.0.5';
    const session = (await login('127.0.0.6')).json<{ status: { sessionKey: string } }>().status.sessionKey;
    const tokenRequest = (source: string, key: string) => send(source, 'tokenrequests', 'TokenRequest', { destination }, key);
    expect((await tokenRequest(from, session)).status).toBe(201);
    const { before, refused } = await flood(() => tokenRequest(from, `iss_${'A'.repeat(16)}.${uniqueName('guess')}`));
    expect(before).toBe(burst);
    expectTooManyRequests(refused, from);
    expectTooManyRequests(await tokenRequest(from, session), from);
    const elsewhere = await tokenRequest('127.0.0.7', session);
    expect(elsewhere.status, elsewhere.text).toBe(201);
    // Known keys spend nothing: a source using its own session is never held back.
    for (let i = 0; i < 2 * burst; i++) expect((await tokenRequest('127.0.0.7', session)).status).toBe(201);
  });

  it('logs that it holds a source back once per flood, not once per request', () => {
    const lines = operator.logs.filter((l) => l.includes('rate limit: holding back a source')).map((l) => JSON.parse(l) as { source: string });
    expect(lines.map((l) => l.source).sort()).toEqual(['127.0.0.2', '127.0.0.4', '127.0.0.5']);
  });
});
