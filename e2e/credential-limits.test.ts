// The limits on sessions and access keys, with infra-operator as a real process against
// the real hub: per-user caps, the access-key lifetime, who may mint keys, garbage
// collection of expired credential Secrets, and names too long for a label value.
import type { V1Secret } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../operator/credentials/passwords.ts';
import { userName } from '../operator/names.ts';
import { https } from '../hack/local-infra/https.ts';
import { eventually, startOperator, type RunningOperator } from '../hack/local-infra/programs.ts';
import { applyHub, cluster, kubectl, kubectlOk, operatorServingCA, uniqueName } from '../test/cluster.ts';

const authPath = '/apis/auth.infrahq.com/v1alpha1';
const ns = uniqueName('infra');
const password = 'correct horse battery staple';
const carl = { email: `${uniqueName('carl')}@example.com`, name: uniqueName('carl') };
const dana = { email: `${uniqueName('dana')}@example.com`, name: uniqueName('dana') };
// 200 characters before the domain: as a label value it could never be stored.
const long = { email: `${uniqueName('l')}${'o'.repeat(200)}@example.com`, name: '' };
long.name = userName(long.email);
const maxSessions = 3;
const maxKeys = 2;
const sessionLifetimeS = 40;
let operator: RunningOperator;
let operatorCA: string;

function call(kind: string, plural: string, spec: object, bearer?: string) {
  return https(`${operator.publicURL}${authPath}/${plural}`, {
    ca: operatorCA,
    headers: bearer ? { authorization: `Bearer ${bearer}` } : {},
    body: { apiVersion: 'auth.infrahq.com/v1alpha1', kind, spec },
  });
}

async function login(email: string): Promise<{ sessionKey: string; expirationTimestamp: string }> {
  const res = await call('Login', 'logins', { email, password });
  expect(res.status, res.text).toBe(201);
  return res.json<{ status: { sessionKey: string; expirationTimestamp: string } }>().status;
}

/** The user's credential Secrets of a kind, found by the email annotation (whatever the labels hold). */
async function credentialSecrets(email: string, kind: string): Promise<V1Secret[]> {
  const list = JSON.parse(await kubectlOk('hub', ['get', 'secrets', '-n', ns, '-l', `infrahq.com/credential=${kind}`, '-o', 'json'])) as { items: V1Secret[] };
  return list.items.filter((s) => s.metadata?.annotations?.['infrahq.com/email'] === email);
}
const validLabelValue = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const auditLines = () =>
  operator.logs.flatMap((line) => {
    try {
      return [JSON.parse(line) as Record<string, unknown>];
    } catch {
      return [];
    }
  });

beforeAll(async () => {
  await kubectlOk('hub', ['create', 'namespace', ns]);
  operator = await startOperator({
    kubeconfig: cluster('hub').adminKubeconfig,
    namespace: ns,
    config: {
      sessions: { lifetime: `${sessionLifetimeS}s`, maxPerUser: maxSessions, collectInterval: '2s' },
      accessKeys: { maxLifetime: '7d', maxPerUser: maxKeys },
    },
  });
  operatorCA = await operatorServingCA(ns);
  await kubectlOk('hub', ['create', 'secret', 'generic', 'limits-password', '-n', ns, `--from-literal=hash=${await hashPassword(password)}`]);
  const users = [carl, dana, long].map((u) => ({
    apiVersion: 'infrahq.com/v1alpha1',
    kind: 'User',
    metadata: { name: u.name },
    spec: { email: u.email, passwordSecretRef: { name: 'limits-password', key: 'hash' } },
  }));
  await applyHub(users);
  await eventually(async () => expect((await call('Login', 'logins', { email: carl.email, password })).status).toBe(201), 30_000);
}, 120_000);

afterAll(async () => {
  await operator?.stop();
  await kubectl('hub', ['delete', 'users', carl.name, dana.name, long.name, '--ignore-not-found']);
  await kubectl('hub', ['delete', 'namespace', ns, '--wait=false']);
});

describe('per-user caps', () => {
  it('a loop of Logins by one user leaves at most the cap of sessions, the oldest evicted and audited; others still log in', async () => {
    const first = await login(carl.email);
    for (let i = 0; i < 7; i++) await login(carl.email);
    expect((await credentialSecrets(carl.email, 'session')).length).toBeLessThanOrEqual(maxSessions);
    expect((await call('AccessReview', 'accessreviews', {}, first.sessionKey)).status).toBe(401);
    expect(auditLines()).toContainEqual(expect.objectContaining({ audit: true, action: 'session.evicted', user: carl.email, max: maxSessions }));
    await login(dana.email);
  });

  it('an access key beyond the cap is refused, saying what to do', async () => {
    const { sessionKey } = await login(dana.email);
    for (const name of ['a', 'b']) expect((await call('AccessKey', 'accesskeys', { name, ttl: '1h' }, sessionKey)).status).toBe(201);
    const refused = await call('AccessKey', 'accesskeys', { name: 'c', ttl: '1h' }, sessionKey);
    expect(refused.status).toBe(403);
    expect(refused.json<{ message: string }>().message).toMatch(/already has 2 access keys, the most allowed \(accessKeys.maxPerUser\); revoke unused ones/);
  });
});

describe('access keys', () => {
  it('cannot live longer than accessKeys.maxLifetime, nor than the session that made them', async () => {
    const session = await login(carl.email);
    const tooLong = await call('AccessKey', 'accesskeys', { name: 'forever', ttl: '36500d' }, session.sessionKey);
    expect(tooLong.status).toBe(422);
    expect(tooLong.json<{ message: string }>().message).toContain('longer than the maximum access-key lifetime, 7d (accessKeys.maxLifetime)');
    const capped = await call('AccessKey', 'accesskeys', { name: 'ci', ttl: '7d' }, session.sessionKey);
    expect(capped.status, capped.text).toBe(201);
    const expires = Date.parse(capped.json<{ status: { expirationTimestamp: string } }>().status.expirationTimestamp);
    expect(expires).toBeLessThanOrEqual(Date.parse(session.expirationTimestamp));
  });

  it('cannot be made with an access key, nor with a session made from one', async () => {
    const session = await login(carl.email);
    const made = await call('AccessKey', 'accesskeys', { name: 'ci2', ttl: '1h' }, session.sessionKey);
    expect(made.status, made.text).toBe(201);
    const key = made.json<{ status: { accessKey: string } }>().status.accessKey;
    const viaKey = await call('Login', 'logins', { accessKey: key });
    expect(viaKey.status, viaKey.text).toBe(201);
    for (const bearer of [key, viaKey.json<{ status: { sessionKey: string } }>().status.sessionKey]) {
      const refused = await call('AccessKey', 'accesskeys', { name: 'renewed', ttl: '1h' }, bearer);
      expect(refused.status).toBe(403);
      expect(refused.json<{ message: string }>().message).toContain('an access key cannot create access keys');
    }
  });
});

describe('garbage collection', () => {
  it('the leader deletes credential Secrets once they expire', async () => {
    await login(dana.email);
    expect(await credentialSecrets(dana.email, 'session')).not.toEqual([]);
    await eventually(
      async () => {
        expect(await credentialSecrets(dana.email, 'session')).toEqual([]);
        expect(await credentialSecrets(dana.email, 'access-key')).toEqual([]);
      },
      (sessionLifetimeS + 20) * 1000,
      1000,
    );
  }, 120_000);
});

describe('a 200-character email', () => {
  it('logs in, its Secret labels are valid, and deleting the User revokes its sessions', async () => {
    const { sessionKey } = await login(long.email);
    const [secret] = await credentialSecrets(long.email, 'session');
    for (const value of Object.values(secret!.metadata!.labels!)) {
      expect(value.length).toBeLessThanOrEqual(63);
      expect(value).toMatch(validLabelValue);
    }
    expect((await call('AccessReview', 'accessreviews', {}, sessionKey)).status).toBe(201);
    await kubectlOk('hub', ['delete', 'user', long.name]);
    await eventually(async () => expect(await credentialSecrets(long.email, 'session')).toEqual([]), 20_000);
    expect((await call('AccessReview', 'accessreviews', {}, sessionKey)).status).toBe(401);
  });
});
