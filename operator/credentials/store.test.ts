// The credential store's rules, on a fake of the one API it calls (CoreV1Api's secret
// methods) and the hub's credentials cache, which the fake keeps in step as a watch would.
import { ApiException, type KubeConfig, type V1Secret } from '@kubernetes/client-node';
import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { fakeHub, user, type FakeHub } from '../../test/fake-hub.ts';
import type { FakeInformer } from '../../test/fake-informer.ts';
import { credentialLabel, userLabel } from '../hub.ts';
import { CredentialStore, labelValue, parseKey, providerLabel, type CredentialPolicy } from './store.ts';

const namespace = 'infra';
const minute = 60_000;
const hour = 60 * minute;
const policy: CredentialPolicy = {
  sessionLifetimeMs: 12 * hour,
  sessionInactivityTimeoutMs: hour,
  maxSessionsPerUser: 50,
  maxAccessKeysPerUser: 100,
  accessKeyMaxLifetimeMs: 90 * 24 * hour,
};
const t0 = new Date('2030-06-01T12:00:00Z');
const at = (ms: number) => new Date(t0.getTime() + ms);

const notFound = () => new ApiException(404, 'not found', { kind: 'Status', reason: 'NotFound' }, {});
const clone = <T>(value: T): T => structuredClone(value);

/** The secret calls CredentialStore makes, against a map; writes reach the cache unless `watching` is off. */
class FakeSecrets {
  readonly objects = new Map<string, V1Secret>();
  readonly calls: string[] = [];
  watching = true;
  failTouch = false;
  failReads = false;
  private version = 0;
  private readonly cache: FakeInformer<V1Secret>;

  constructor(cache: FakeInformer<V1Secret>) {
    this.cache = cache;
  }

  private stored(name: string): V1Secret {
    const secret = this.objects.get(name);
    if (!secret) throw notFound();
    return secret;
  }

  private save(secret: V1Secret): V1Secret {
    secret.metadata!.resourceVersion = String(++this.version);
    this.objects.set(secret.metadata!.name!, secret);
    if (this.watching) this.cache.set(clone(secret));
    return clone(secret);
  }

  async createNamespacedSecret({ namespace: ns, body }: { namespace: string; body: V1Secret }): Promise<V1Secret> {
    this.calls.push(`create ${body.metadata!.name}`);
    expect(ns).toBe(namespace);
    if (this.objects.has(body.metadata!.name!)) throw new ApiException(409, 'conflict', {}, {});
    return this.save(clone(body));
  }

  async listNamespacedSecret({ labelSelector }: { namespace: string; labelSelector: string }): Promise<{ items: V1Secret[] }> {
    this.calls.push(`list ${labelSelector}`);
    const wanted = labelSelector.split(',').map((term) => term.split('='));
    const items = [...this.objects.values()].filter((s) => wanted.every(([k, v]) => s.metadata?.labels?.[k!] === v));
    return { items: items.map(clone) };
  }

  async readNamespacedSecret({ name }: { name: string; namespace: string }): Promise<V1Secret> {
    this.calls.push(`read ${name}`);
    if (this.failReads) throw new ApiException(500, 'etcd is down', {}, {});
    return clone(this.stored(name));
  }

  async patchNamespacedSecret({ name, body }: { name: string; namespace: string; body: unknown }): Promise<V1Secret> {
    const secret = clone(this.stored(name));
    if (Array.isArray(body)) {
      // JSON patch: the lastUsedAt touch.
      this.calls.push(`touch ${name}`);
      if (this.failTouch) throw new ApiException(500, 'etcd is down', {}, {});
      for (const op of body as { op: string; path: string; value: string }[]) {
        const key = op.path.replace('/metadata/annotations/', '').replace(/~1/g, '/').replace(/~0/g, '~');
        secret.metadata!.annotations = { ...secret.metadata!.annotations, [key]: op.value };
      }
    } else {
      // Merge patch, with resourceVersion as a precondition.
      this.calls.push(`patch ${name}`);
      const patch = body as { metadata?: { resourceVersion?: string; annotations?: Record<string, string | null> }; data?: Record<string, string> };
      if (patch.metadata?.resourceVersion !== undefined && patch.metadata.resourceVersion !== secret.metadata!.resourceVersion)
        throw new ApiException(409, 'conflict', {}, {});
      const annotations: Record<string, string> = { ...secret.metadata!.annotations };
      for (const [key, value] of Object.entries(patch.metadata?.annotations ?? {})) {
        if (value === null) delete annotations[key];
        else annotations[key] = value;
      }
      secret.metadata!.annotations = annotations;
      if (patch.data) secret.data = { ...secret.data, ...patch.data };
    }
    return this.save(secret);
  }

  async deleteNamespacedSecret({ name }: { name: string; namespace: string }): Promise<void> {
    this.calls.push(`delete ${name}`);
    this.stored(name);
    this.objects.delete(name);
    if (this.watching) this.cache.remove(name, namespace);
  }
}

let fake: FakeHub;
let secrets: FakeSecrets;
let store: CredentialStore;
/** What the store logged, one object per line. */
let logged: Record<string, unknown>[];
const carl = user('carl', 'carl@example.com');
const dana = user('dana', 'dana@example.com');

beforeEach(() => {
  fake = fakeHub({ users: [carl, dana] });
  secrets = new FakeSecrets(fake.credentials);
  const kubeConfig = { makeApiClient: () => secrets } as unknown as KubeConfig;
  logged = [];
  const lines = new Writable({
    write: (chunk: Buffer, _encoding, done) => void (logged.push(JSON.parse(chunk.toString()) as Record<string, unknown>), done()),
  });
  store = new CredentialStore(kubeConfig, namespace, fake.hub, policy, pino({ level: 'warn' }, lines));
});

const cached = (kind: 'session' | 'access-key', id: string) => fake.credentials.get(`infra-${kind}-${id}`, namespace)!;

describe('keys', () => {
  it('are <prefix>_<id>.<secret>, and the hub keeps only the SHA-256 of the secret', async () => {
    const session = await store.create('session', carl, { now: t0 });
    const accessKey = await store.create('access-key', carl, { now: t0, name: 'ci' });
    expect(session.key).toMatch(/^iss_[a-z2-7]{16}\.[A-Za-z0-9_-]{43}$/);
    expect(accessKey.key).toMatch(/^iak_[a-z2-7]{16}\.[A-Za-z0-9_-]{43}$/);
    const parsed = parseKey(session.key)!;
    expect(parsed).toMatchObject({ kind: 'session', id: session.credential.id });
    const secret = cached('session', parsed.id);
    expect(Object.keys(secret.data!)).toEqual(['sha256']);
    const decoded = Object.values(secret.data!).map((v) => Buffer.from(v, 'base64').toString());
    expect(JSON.stringify([secret, decoded])).not.toContain(parsed.secret);
    expect(Buffer.from(secret.data!['sha256']!, 'base64').toString()).toBe(createHash('sha256').update(parsed.secret).digest('hex'));
    expect(secret.metadata!.labels).toMatchObject({ [credentialLabel]: 'session', [userLabel]: 'carl' });
  });

  it('parse only in their exact shape', () => {
    const id = 'abcdefghijklmnop';
    const secret = 'A'.repeat(43);
    expect(parseKey(`iss_${id}.${secret}`)).toEqual({ kind: 'session', id, secret });
    expect(parseKey(`iak_${id}.${secret}`)).toEqual({ kind: 'access-key', id, secret });
    for (const key of [
      `isx_${id}.${secret}`,
      `iss_${id.toUpperCase()}.${secret}`,
      `iss_${id}1.${secret}`,
      `iss_${id}${secret}`,
      `iss_${id}.${secret}A`,
      ` iss_${id}.${secret}`,
      `iss_${id}.${'A'.repeat(42)}=`,
      '',
    ]) {
      expect(parseKey(key), key).toBeUndefined();
    }
  });
});

describe('authenticate', () => {
  it('gives the credential a key stands for', async () => {
    const { key, credential } = await store.create('session', carl, { now: t0 });
    expect(await store.authenticate(key, at(minute))).toEqual({
      kind: 'session',
      id: credential.id,
      email: 'carl@example.com',
      userName: 'carl',
      expiresAt: at(policy.sessionLifetimeMs),
    });
  });

  it('refuses a malformed key, an unknown id, and a right id with a wrong secret', async () => {
    const { key } = await store.create('session', carl, { now: t0 });
    const { id } = parseKey(key)!;
    expect(await store.authenticate('iss_nonsense', t0)).toBeUndefined();
    expect(await store.authenticate(`iss_${'a'.repeat(16)}.${'A'.repeat(43)}`, t0)).toBeUndefined();
    expect(await store.authenticate(`iss_${id}.${'A'.repeat(43)}`, t0)).toBeUndefined();
  });

  it('refuses a key whose prefix names the other kind of credential', async () => {
    const { key } = await store.create('session', carl, { now: t0 });
    expect(await store.authenticate(key.replace(/^iss_/, 'iak_'), t0)).toBeUndefined();
    // Even under the right name, a Secret labelled as the other kind is not this credential.
    const { id } = parseKey(key)!;
    cached('session', id).metadata!.labels![credentialLabel] = 'access-key';
    expect(await store.authenticate(key, t0)).toBeUndefined();
  });

  describe('expiry', () => {
    it('ends an access key at exactly its expiresAt', async () => {
      const lifetime = 30 * 24 * hour;
      const { key } = await store.create('access-key', carl, { now: t0, lifetimeMs: lifetime, name: 'ci' });
      expect(await store.authenticate(key, at(lifetime - 1))).toBeDefined();
      expect(await store.authenticate(key, at(lifetime))).toBeUndefined();
    });

    it('ends a session at exactly its expiresAt (sessionLifetimeMs unless given), used or not', async () => {
      const { key } = await store.create('session', carl, { now: t0, lifetimeMs: 30 * minute });
      expect(await store.authenticate(key, at(30 * minute - 1))).toBeDefined();
      expect(await store.authenticate(key, at(30 * minute))).toBeUndefined();
      const { credential } = await store.create('session', carl, { now: t0 });
      expect(credential.expiresAt).toEqual(at(policy.sessionLifetimeMs));
    });

    it('refuses a credential without an expiry', async () => {
      const { key, credential } = await store.create('access-key', carl, { now: t0, name: 'ci' });
      delete cached('access-key', credential.id).metadata!.annotations!['infrahq.com/expires-at'];
      expect(await store.authenticate(key, t0)).toBeUndefined();
    });
  });

  describe('inactivity', () => {
    it('ends a session unused for longer than the inactivity timeout', async () => {
      const { key } = await store.create('session', carl, { now: t0 });
      expect(await store.authenticate(key, at(hour + 1))).toBeUndefined();
    });

    it('keeps a session used exactly at the inactivity timeout', async () => {
      const { key } = await store.create('session', carl, { now: t0 });
      expect(await store.authenticate(key, at(hour))).toBeDefined();
    });

    it('counts inactivity from the last use: a session in use stays alive until its lifetime ends', async () => {
      const { key } = await store.create('session', carl, { now: t0 });
      for (let t = 50 * minute; t < policy.sessionLifetimeMs; t += 50 * minute)
        expect(await store.authenticate(key, at(t)), `at +${t / minute} min`).toBeDefined();
      expect(await store.authenticate(key, at(policy.sessionLifetimeMs))).toBeUndefined();
    });

    it('does not apply to access keys', async () => {
      const { key } = await store.create('access-key', carl, { now: t0, lifetimeMs: 30 * 24 * hour, name: 'ci' });
      expect(await store.authenticate(key, at(10 * 24 * hour))).toBeDefined();
    });

    it('records a use at most once a minute, and a failed record does not fail the request', async () => {
      const { key, credential } = await store.create('session', carl, { now: t0 });
      const touches = () => secrets.calls.filter((c) => c.startsWith('touch')).length;
      await store.authenticate(key, at(30_000));
      expect(touches()).toBe(0);
      await store.authenticate(key, at(minute + 1));
      expect(touches()).toBe(1);
      expect(cached('session', credential.id).metadata!.annotations!['infrahq.com/last-used-at']).toBe(at(minute + 1).toISOString());
      secrets.failTouch = true;
      expect(await store.authenticate(key, at(3 * minute))).toBeDefined();
      expect(touches()).toBe(2);
      await vi.waitFor(() =>
        expect(logged).toContainEqual(expect.objectContaining({ msg: 'could not record credential use', secret: `infra-session-${credential.id}` })),
      );
    });
  });

  describe('the User', () => {
    it('refuses a credential whose User is gone', async () => {
      const { key } = await store.create('access-key', carl, { now: t0, name: 'ci' });
      fake.users.remove('carl');
      expect(await store.authenticate(key, t0)).toBeUndefined();
    });

    it('refuses a credential of a User deleted and made again with the same email', async () => {
      const { key } = await store.create('access-key', carl, { now: t0, name: 'ci' });
      fake.users.remove('carl');
      fake.users.set(user('carl-2', 'carl@example.com'));
      expect(await store.authenticate(key, t0)).toBeUndefined();
    });
  });

  describe('lookup by key', () => {
    it('finds a credential the cache has not seen yet with one GET by name', async () => {
      secrets.watching = false;
      const { key, credential } = await store.create('session', carl, { now: t0 });
      expect(fake.credentials.list()).toEqual([]);
      secrets.calls.length = 0;
      expect(await store.authenticate(key, t0)).toMatchObject({ id: credential.id });
      expect(secrets.calls).toEqual([`read infra-session-${credential.id}`]);
    });

    it('answers from the cache without asking the API server', async () => {
      const { key } = await store.create('session', carl, { now: t0 });
      secrets.calls.length = 0;
      expect(await store.authenticate(key, t0)).toBeDefined();
      expect(secrets.calls).toEqual([]);
    });

    it('refuses an id the hub does not know, and fails (not refuses) when the hub cannot answer', async () => {
      const key = `iss_${'a'.repeat(16)}.${'A'.repeat(43)}`;
      expect(await store.authenticate(key, t0)).toBeUndefined();
      secrets.failReads = true;
      await expect(store.authenticate(key, t0)).rejects.toThrow();
    });
  });
});

describe('revocation', () => {
  it('ends a credential at once, and revoking it again is no error', async () => {
    const { key, credential } = await store.create('session', carl, { now: t0 });
    await store.revoke(credential);
    expect(await store.authenticate(key, t0)).toBeUndefined();
    await expect(store.revoke(credential)).resolves.toBeUndefined();
  });

  it("revokeSessionsOf ends a user's other sessions, not the current one, not their access keys, not others'", async () => {
    const current = await store.create('session', carl, { now: t0 });
    const other = await store.create('session', carl, { now: t0 });
    const accessKey = await store.create('access-key', carl, { now: t0, name: 'ci' });
    const danas = await store.create('session', dana, { now: t0 });
    expect(await store.revokeSessionsOf('carl', current.credential.id)).toBe(1);
    expect(await store.authenticate(other.key, t0)).toBeUndefined();
    for (const { key } of [current, accessKey, danas]) expect(await store.authenticate(key, t0)).toBeDefined();
    expect(await store.revokeSessionsOf('carl')).toBe(1);
    expect(await store.authenticate(current.key, t0)).toBeUndefined();
  });

  it('revokeAllFor ends every session and access key of a user, and only theirs', async () => {
    const mine = [await store.create('session', carl, { now: t0 }), await store.create('access-key', carl, { now: t0, name: 'ci' })];
    const danas = await store.create('access-key', dana, { now: t0, name: 'ci' });
    expect(store.credentialOwners()).toEqual(new Set(['carl', 'dana']));
    expect(await store.revokeAllFor('carl')).toBe(2);
    for (const { key } of mine) expect(await store.authenticate(key, t0)).toBeUndefined();
    expect(await store.authenticate(danas.key, t0)).toBeDefined();
    expect(store.credentialOwners()).toEqual(new Set(['dana']));
  });

  it('revokeProviderSessions ends the sessions made through that provider only', async () => {
    const seal = async (name: string) => Buffer.from(`sealed for ${name}`);
    const okta = await store.create('session', carl, { now: t0, upstream: { provider: 'okta', seal } });
    const google = await store.create('session', dana, { now: t0, upstream: { provider: 'google', seal } });
    const password = await store.create('session', carl, { now: t0 });
    expect(store.sessionProviders()).toEqual(new Set(['okta', 'google']));
    expect(await store.revokeProviderSessions('okta')).toBe(1);
    expect(await store.authenticate(okta.key, t0)).toBeUndefined();
    expect(await store.authenticate(google.key, t0)).toBeDefined();
    expect(await store.authenticate(password.key, t0)).toBeDefined();
    expect(store.sessionProviders()).toEqual(new Set(['google']));
  });
});

describe('access keys and the sessions made from them', () => {
  it('a session made with an access key works while the key does', async () => {
    const accessKey = await store.create('access-key', carl, { now: t0, name: 'ci', lifetimeMs: 24 * hour });
    const session = await store.create('session', carl, { now: t0, accessKeyId: accessKey.credential.id });
    expect(await store.authenticate(session.key, at(minute))).toBeDefined();
  });

  it('revoking an access key by name ends the sessions made from it, not other sessions', async () => {
    const accessKey = await store.create('access-key', carl, { now: t0, name: 'ci' });
    const fromKey = await store.create('session', carl, { now: t0, accessKeyId: accessKey.credential.id });
    const other = await store.create('session', carl, { now: t0 });
    expect(await store.revokeAccessKeys('carl', 'ci')).toBe(1);
    expect(await store.authenticate(accessKey.key, t0)).toBeUndefined();
    expect(await store.authenticate(fromKey.key, t0)).toBeUndefined();
    expect(secrets.objects.has(`infra-session-${fromKey.credential.id}`)).toBe(false);
    expect(await store.authenticate(other.key, t0)).toBeDefined();
  });

  it('a session outlives neither the expiry nor the removal of its access key', async () => {
    const accessKey = await store.create('access-key', carl, { now: t0, name: 'ci', lifetimeMs: 30 * minute });
    const session = await store.create('session', carl, { now: at(20 * minute), accessKeyId: accessKey.credential.id });
    expect(await store.authenticate(session.key, at(30 * minute - 1))).toBeDefined();
    expect(await store.authenticate(session.key, at(30 * minute))).toBeUndefined();

    const second = await store.create('access-key', carl, { now: t0, name: 'deploy' });
    const fromSecond = await store.create('session', carl, { now: t0, accessKeyId: second.credential.id });
    await store.revoke(second.credential);
    expect(secrets.objects.has(`infra-session-${fromSecond.credential.id}`)).toBe(true);
    expect(await store.authenticate(fromSecond.key, t0)).toBeUndefined();
  });

  it('revokes every key of the user with that name (names need not be unique), and no other', async () => {
    const a = await store.create('access-key', carl, { now: t0, name: 'ci' });
    const b = await store.create('access-key', carl, { now: t0, name: 'ci' });
    const deploy = await store.create('access-key', carl, { now: t0, name: 'deploy' });
    const danas = await store.create('access-key', dana, { now: t0, name: 'ci' });
    expect(await store.revokeAccessKeys('carl', 'ci')).toBe(2);
    for (const { key } of [a, b]) expect(await store.authenticate(key, t0)).toBeUndefined();
    for (const { key } of [deploy, danas]) expect(await store.authenticate(key, t0)).toBeDefined();
    expect(await store.revokeAccessKeys('carl', 'nonexistent')).toBe(0);
  });

  it("lists a user's access keys by name, then expiry, with dates and never a hash", async () => {
    const late = await store.create('access-key', carl, { now: t0, name: 'ci', lifetimeMs: 2 * hour });
    const early = await store.create('access-key', carl, { now: t0, name: 'ci', lifetimeMs: hour });
    const beta = await store.create('access-key', carl, { now: t0, name: 'beta', lifetimeMs: hour });
    await store.create('session', carl, { now: t0 });
    await store.create('access-key', dana, { now: t0, name: 'alpha' });
    const keys = store.accessKeysOf('carl');
    expect(keys).toEqual([
      { id: beta.credential.id, name: 'beta', expiresAt: at(hour).toISOString(), lastUsedAt: t0.toISOString() },
      { id: early.credential.id, name: 'ci', expiresAt: at(hour).toISOString(), lastUsedAt: t0.toISOString() },
      { id: late.credential.id, name: 'ci', expiresAt: at(2 * hour).toISOString(), lastUsedAt: t0.toISOString() },
    ]);
  });
});

describe('identity-provider sessions', () => {
  const seal = async (name: string) => Buffer.from(`sealed for ${name}`);

  it("carry their provider and when it last confirmed the person; the sealed part is bound to the Secret's name", async () => {
    const { key, credential } = await store.create('session', carl, { now: t0, upstream: { provider: 'okta', seal } });
    expect(credential).toMatchObject({ provider: 'okta', verifiedAt: t0 });
    expect(await store.authenticate(key, at(minute))).toMatchObject({ provider: 'okta', verifiedAt: t0 });
    expect(cached('session', credential.id).metadata!.labels![providerLabel]).toBe('okta');
    const record = await store.upstream(credential.id);
    expect(record).toMatchObject({
      id: credential.id,
      secretName: `infra-session-${credential.id}`,
      email: 'carl@example.com',
      userName: 'carl',
      provider: 'okta',
      verifiedAt: t0,
    });
    expect(record!.sealed.toString()).toBe(`sealed for infra-session-${credential.id}`);
    expect(store.upstreamSessions()).toEqual([{ id: credential.id, provider: 'okta', verifiedAt: t0 }]);
  });

  it('have no upstream part when made otherwise, or gone', async () => {
    const { credential } = await store.create('session', carl, { now: t0 });
    expect(await store.upstream(credential.id)).toBeUndefined();
    expect(await store.upstream('a'.repeat(16))).toBeUndefined();
    expect(store.upstreamSessions()).toEqual([]);
  });

  it('lets one replica at a time verify: the lock is taken only at the resourceVersion read', async () => {
    const { credential } = await store.create('session', carl, { now: t0, upstream: { provider: 'okta', seal } });
    const record = (await store.upstream(credential.id))!;
    expect(await store.claimVerification(record, at(minute))).toBe(true);
    expect(await store.claimVerification(record, at(minute))).toBe(false);
    expect((await store.upstream(credential.id))!.verifyingUntil).toEqual(at(minute));
    await store.finishVerification(record, { verifiedAt: at(30_000), sealed: Buffer.from('rotated') });
    const after = (await store.upstream(credential.id))!;
    expect(after.verifyingUntil).toBeUndefined();
    expect(after.verifiedAt).toEqual(at(30_000));
    expect(after.sealed.toString()).toBe('rotated');
  });

  it('gives up the lock of a session that is gone without an error', async () => {
    const { credential } = await store.create('session', carl, { now: t0, upstream: { provider: 'okta', seal } });
    const record = (await store.upstream(credential.id))!;
    await store.revoke(credential);
    expect(await store.claimVerification(record, at(minute))).toBe(false);
    await expect(store.finishVerification(record)).resolves.toBeUndefined();
  });
});

describe('access keys vouched for by an IdP session', () => {
  const seal = async (name: string) => Buffer.from(`sealed for ${name}`);
  const idpSession = () => store.create('session', carl, { now: t0, upstream: { provider: 'okta', seal } });

  it('borrow the session’s provider and verification, and so do sessions made with them', async () => {
    const session = await idpSession();
    const accessKey = await store.create('access-key', carl, { now: t0, name: 'ci', upstreamSession: { id: session.credential.id, provider: 'okta' } });
    const viaKey = await store.create('session', carl, { now: t0, accessKeyId: accessKey.credential.id });
    const vouched = { provider: 'okta', upstreamSession: session.credential.id, verifiedAt: t0 };
    expect(await store.authenticate(accessKey.key, at(minute))).toMatchObject(vouched);
    expect(await store.authenticate(viaKey.key, at(minute))).toMatchObject({ ...vouched, accessKeyId: accessKey.credential.id });
  });

  it('outlive a logout of the session, which is retired (it no longer authenticates) and still verified upstream', async () => {
    const session = await idpSession();
    const accessKey = await store.create('access-key', carl, { now: t0, name: 'ci', upstreamSession: { id: session.credential.id, provider: 'okta' } });
    await store.revoke(session.credential);
    expect(await store.authenticate(session.key, at(minute))).toBeUndefined();
    expect(await store.authenticate(accessKey.key, at(minute))).toMatchObject({ upstreamSession: session.credential.id });
    expect(store.upstreamSessions(at(minute)).map((s) => s.id)).toEqual([session.credential.id]);
  });

  it('end with the session when the provider refuses it, or when it is gone', async () => {
    const session = await idpSession();
    const accessKey = await store.create('access-key', carl, { now: t0, name: 'ci', upstreamSession: { id: session.credential.id, provider: 'okta' } });
    secrets.watching = false; // the key must be refused even before the cache hears of the deletion
    await secrets.deleteNamespacedSecret({ name: `infra-session-${session.credential.id}`, namespace });
    fake.credentials.remove(`infra-session-${session.credential.id}`, namespace);
    expect(await store.authenticate(accessKey.key, at(minute))).toBeUndefined();
    secrets.watching = true;
    const other = await idpSession();
    const otherKey = await store.create('access-key', carl, { now: t0, name: 'ci2', upstreamSession: { id: other.credential.id, provider: 'okta' } });
    expect(await store.revokeUpstreamSession(other.credential.id)).toBe(2);
    expect(await store.authenticate(otherKey.key, at(minute))).toBeUndefined();
  });

  it('are revoked with their Provider', async () => {
    const session = await idpSession();
    await store.create('access-key', carl, { now: t0, name: 'ci', upstreamSession: { id: session.credential.id, provider: 'okta' } });
    expect(store.sessionProviders()).toEqual(new Set(['okta']));
    expect(await store.revokeProviderSessions('okta')).toBe(2);
    expect(fake.credentials.list()).toEqual([]);
  });
});

describe('a session made with an access key the cache has not seen yet', () => {
  it('is accepted: the key is looked up like any credential, with one GET by name', async () => {
    secrets.watching = false;
    const accessKey = await store.create('access-key', carl, { now: t0, name: 'ci' });
    const session = await store.create('session', carl, { now: t0, accessKeyId: accessKey.credential.id });
    expect(await store.authenticate(session.key, t0)).toMatchObject({ id: session.credential.id, accessKeyId: accessKey.credential.id });
  });
});

describe('per-user caps', () => {
  beforeEach(() => {
    store = new CredentialStore(
      { makeApiClient: () => secrets } as unknown as KubeConfig,
      namespace,
      fake.hub,
      { ...policy, maxSessionsPerUser: 3, maxAccessKeysPerUser: 2 },
      pino(
        { level: 'info' },
        new Writable({ write: (chunk: Buffer, _e, done) => void (logged.push(JSON.parse(chunk.toString()) as Record<string, unknown>), done()) }),
      ),
    );
  });

  it('a new session beyond the cap evicts the oldest, says so in the audit log, and leaves other users alone', async () => {
    const danas = await store.create('session', dana, { now: t0 });
    const made = [];
    for (let i = 0; i < 5; i++) made.push(await store.create('session', carl, { now: at(i * 1000) }));
    const carls = fake.credentials.list().filter((s) => s.metadata!.labels![userLabel] === 'carl');
    expect(carls.map((s) => s.metadata!.name).sort()).toEqual(
      made
        .slice(2)
        .map((m) => `infra-session-${m.credential.id}`)
        .sort(),
    );
    expect(await store.authenticate(danas.key, t0)).toBeDefined();
    expect(logged).toContainEqual(
      expect.objectContaining({ audit: true, action: 'session.evicted', user: 'carl@example.com', sessions: [made[0]!.credential.id], max: 3 }),
    );
  });

  it('never evicts a session that vouches for access keys', async () => {
    const seal = async (name: string) => Buffer.from(`sealed for ${name}`);
    const anchor = await store.create('session', carl, { now: t0, upstream: { provider: 'okta', seal } });
    const accessKey = await store.create('access-key', carl, { now: t0, name: 'ci', upstreamSession: { id: anchor.credential.id, provider: 'okta' } });
    for (let i = 1; i <= 5; i++) await store.create('session', carl, { now: at(i * 1000) });
    expect(await store.authenticate(accessKey.key, at(10_000))).toMatchObject({ upstreamSession: anchor.credential.id });
    expect(fake.credentials.list().filter((s) => s.metadata!.labels![credentialLabel] === 'session')).toHaveLength(4);
  });

  it('a new access key at the cap is refused with what to do', async () => {
    await store.create('access-key', carl, { now: t0, name: 'a' });
    await store.create('access-key', carl, { now: t0, name: 'b' });
    await expect(store.create('access-key', carl, { now: t0, name: 'c' })).rejects.toMatchObject({
      code: 403,
      message: expect.stringMatching(/already has 2 access keys, the most allowed \(accessKeys.maxPerUser\); revoke unused ones/),
    });
    await expect(store.create('access-key', dana, { now: t0, name: 'a' })).resolves.toBeDefined();
  });
});

describe('garbage collection', () => {
  it('deletes expired and idle credentials, and those whose access key or upstream session is gone, and nothing live', async () => {
    const seal = async (name: string) => Buffer.from(`sealed for ${name}`);
    const expired = await store.create('access-key', carl, { now: t0, name: 'old', lifetimeMs: minute });
    const idle = await store.create('session', carl, { now: t0 });
    const live = await store.create('session', carl, { now: at(2 * hour) });
    const accessKey = await store.create('access-key', carl, { now: t0, name: 'ci' });
    const viaKey = await store.create('session', carl, { now: at(2 * hour), accessKeyId: accessKey.credential.id });
    const anchor = await store.create('session', dana, { now: t0, upstream: { provider: 'okta', seal } });
    const anchored = await store.create('access-key', dana, { now: t0, name: 'ci', upstreamSession: { id: anchor.credential.id, provider: 'okta' } });
    await store.revoke(anchor.credential); // retired, idle for hours, but still vouching for a key
    await store.revoke(accessKey.credential); // leaves its session an orphan

    expect(await store.collectGarbage(at(2 * hour + minute))).toBe(3);
    const left = fake.credentials.list().map((s) => s.metadata!.name);
    expect(left.sort()).toEqual(
      [`infra-session-${live.credential.id}`, `infra-session-${anchor.credential.id}`, `infra-access-key-${anchored.credential.id}`].sort(),
    );
    expect(left).not.toContain(`infra-access-key-${expired.credential.id}`);
    expect(left).not.toContain(`infra-session-${idle.credential.id}`);
    expect(left).not.toContain(`infra-session-${viaKey.credential.id}`);
  });

  it('runs on an interval once started, until stopped', async () => {
    vi.useFakeTimers();
    try {
      await store.create('session', carl, { now: new Date(Date.now() - 13 * hour) });
      store.startCollecting(10 * minute);
      await vi.advanceTimersByTimeAsync(10 * minute);
      expect(fake.credentials.list()).toEqual([]);
      store.stopCollecting();
    } finally {
      vi.useRealTimers();
    }
  });

  it('never hands an expired IdP session to verification', async () => {
    const seal = async (name: string) => Buffer.from(`sealed for ${name}`);
    const { credential } = await store.create('session', carl, { now: t0, upstream: { provider: 'okta', seal } });
    expect(store.upstreamSessions(at(minute))).toHaveLength(1);
    expect(store.upstreamSessions(at(policy.sessionLifetimeMs))).toEqual([]);
    expect((await store.upstream(credential.id))!.expiresAt).toEqual(at(policy.sessionLifetimeMs));
  });
});

describe('names too long for a label', () => {
  const longEmail = `${'a'.repeat(200)}@example.com`;
  const longName = `${'a'.repeat(200)}-example-com`;
  const longProvider = `okta-${'p'.repeat(240)}`;

  it('are hashed into valid label values, kept whole in annotations, and found again', async () => {
    const longUser = user(longName, longEmail);
    fake.users.set(longUser);
    const seal = async (name: string) => Buffer.from(`sealed for ${name}`);
    const { key, credential } = await store.create('session', longUser, { now: t0, upstream: { provider: longProvider, seal } });
    const labels = cached('session', credential.id).metadata!.labels!;
    for (const value of Object.values(labels)) expect(value).toMatch(/^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/);
    for (const value of Object.values(labels)) expect(value.length).toBeLessThanOrEqual(63);
    expect(labels[userLabel]).toBe(labelValue(longName));
    expect(await store.authenticate(key, t0)).toMatchObject({ userName: longName, provider: longProvider });
    expect(store.credentialOwners()).toEqual(new Set([longName]));
    expect(store.sessionProviders()).toEqual(new Set([longProvider]));
    expect((await store.upstream(credential.id))!.userName).toBe(longName);
    expect(await store.revokeAllFor(longName)).toBe(1);
  });

  it('keep names that fit as they are', () => {
    expect(labelValue('carl')).toBe('carl');
    expect(labelValue(longName)).toMatch(/^sha256-[0-9a-f]{56}$/);
  });
});
