// Which client a request comes from, against the real operator and hub: behind a proxy the
// config trusts, the password lockout counts the address the proxy forwarded, so one
// person's wrong passwords lock out that person's address, not everyone behind the proxy;
// anyone else's X-Forwarded-For is ignored, so no client can choose the address it is
// counted under. Each address here is its own loopback address (all of 127.0.0.0/8).
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../operator/credentials/passwords.ts';
import { cluster, kubectlOk, operatorServingCA, uniqueName } from '../test/cluster.ts';
import { https, type HttpsResponse } from '../hack/local-infra/https.ts';
import { eventually, startOperator, type RunningOperator } from '../hack/local-infra/programs.ts';

const ns = uniqueName('infra');
const carl = `${uniqueName('carl')}@example.com`;
const password = 'correct horse battery staple';
const proxy = '127.0.0.10';
const maxFailuresPerAddress = 3;
let operator: RunningOperator;
let operatorCA: string;

function login(from: string, email: string, secret: string, forwardedFor?: string): Promise<HttpsResponse> {
  return https(`${operator.publicURL}/apis/auth.infrahq.com/v1alpha1/logins`, {
    ca: operatorCA,
    localAddress: from,
    headers: forwardedFor ? { 'x-forwarded-for': forwardedFor } : {},
    body: { apiVersion: 'auth.infrahq.com/v1alpha1', kind: 'Login', spec: { email, password: secret } },
  });
}

/** Wrong passwords for strangers (so no email is locked), until the address lock; bounded by the limit. */
async function failUntilLocked(from: string, forwardedFor: () => string | undefined): Promise<void> {
  for (let i = 0; i < maxFailuresPerAddress; i++) {
    const res = await login(from, `${uniqueName('nobody')}@example.com`, 'wrong', forwardedFor());
    expect(res.status, res.text).toBe(401);
  }
}

beforeAll(async () => {
  await kubectlOk('hub', ['create', 'namespace', ns]);
  operator = await startOperator({
    kubeconfig: cluster('hub').adminKubeconfig,
    namespace: ns,
    config: { trustedProxies: [proxy], logins: { maxFailuresPerAddress, maxFailures: 50 } },
  });
  operatorCA = await operatorServingCA(ns);
  await kubectlOk('hub', ['create', 'secret', 'generic', 'carl-password', '-n', ns, `--from-literal=hash=${await hashPassword(password)}`]);
  await kubectlOk('hub', ['apply', '-f', '-'], {
    input: stringify({
      apiVersion: 'infrahq.com/v1alpha1',
      kind: 'User',
      metadata: { name: uniqueName('carl') },
      spec: { email: carl, passwordSecretRef: { name: 'carl-password', key: 'hash' } },
    }),
  });
  await eventually(async () => expect((await login('127.0.0.1', carl, password)).status).toBe(201));
}, 120_000);

afterAll(async () => {
  await operator?.stop();
});

describe('the client address behind a trusted proxy', () => {
  it("locks the address one client's wrong passwords came from, and keeps serving other clients behind the same proxy", async () => {
    await failUntilLocked(proxy, () => '203.0.113.1');
    const locked = await login(proxy, carl, password, '203.0.113.1');
    expect(locked.status, locked.text).toBe(429);
    expect(locked.json<{ message: string }>().message).toContain('too many failed password attempts for this address (203.0.113.1)');
    const other = await login(proxy, carl, password, '203.0.113.2');
    expect(other.status, other.text).toBe(201);
  });

  it('reads X-Forwarded-For from the right, so a client behind the proxy cannot prepend an address of its choosing', async () => {
    let n = 0;
    await failUntilLocked(proxy, () => `198.51.100.${++n}, 203.0.113.3`);
    const locked = await login(proxy, carl, password, '198.51.100.251, 203.0.113.3');
    expect(locked.status, locked.text).toBe(429);
    expect(locked.json<{ message: string }>().message).toContain('this address (203.0.113.3)');
  });

  it('ignores X-Forwarded-For from a client that is not a trusted proxy: it is counted under its own address', async () => {
    const client = '127.0.0.20';
    let n = 0;
    await failUntilLocked(client, () => `198.51.100.${++n}`);
    const locked = await login(client, carl, password, '198.51.100.99');
    expect(locked.status, locked.text).toBe(429);
    expect(locked.json<{ message: string }>().message).toContain(`this address (${client})`);
  });
});
