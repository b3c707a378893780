// What the Destination, Group, Provider and User controllers compute from their inputs
// (the Grant controller's conditions are in grant.test.ts).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Provider, User } from '../../api/v1alpha1/types.ts';
import type { ConditionInput } from '../../lib/conditions.ts';
import { destination, fakeHub, group, user } from '../../test/fake-hub.ts';
import { UpstreamError } from '../identity/errors.ts';
import type { ProviderClients } from '../identity/providers.ts';
import { destinationConnection, heartbeatTimeoutMs } from './destination.ts';
import { groupMembership } from './group.ts';
import { checkDiscovery, credentialsCondition, providerConditions, providerReady, secretCondition } from './provider.ts';
import { userConditions, userReady } from './user.ts';
import { providerSecretBinding, type StoredSecret } from '../secret-refs.ts';

const now = new Date('2030-06-01T12:00:00Z');
const ago = (ms: number) => new Date(now.getTime() - ms).toISOString();

describe('destinationConnection', () => {
  it('is connected while the last heartbeat is younger than the timeout, and looks again just after it would be missed', () => {
    const result = destinationConnection(destination('prod', {}, { lastSeenAt: ago(30_000) }), now);
    expect(result.connected).toBe(true);
    expect(result.conditions[0]).toMatchObject({ type: 'Ready', status: 'True', reason: 'Connected', message: `connector last seen at ${ago(30_000)}` });
    expect(result.requeueAfterMs).toBe(heartbeatTimeoutMs - 30_000 + 1000);
  });

  it('is disconnected (HeartbeatMissed, stalled) at exactly the timeout, and is not looked at again by the clock', () => {
    const result = destinationConnection(destination('prod', {}, { lastSeenAt: ago(heartbeatTimeoutMs), connected: true }), now);
    expect(result.connected).toBe(false);
    expect(result.conditions.map((c) => [c.type, c.status, c.reason])).toEqual([
      ['Ready', 'False', 'HeartbeatMissed'],
      ['Reconciling', 'False', 'HeartbeatMissed'],
      ['Stalled', 'True', 'HeartbeatMissed'],
    ]);
    expect(result.conditions[0]!.message).toMatch(/check the connector's logs/);
    expect(result.requeueAfterMs).toBeUndefined();
  });

  it('is disconnected (NeverConnected, waiting) before any connector registered', () => {
    for (const status of [undefined, {}, { lastSeenAt: 'not a time' }]) {
      const result = destinationConnection(destination('prod', {}, status), now);
      expect(result.connected).toBe(false);
      expect(result.conditions.map((c) => [c.type, c.status, c.reason])).toEqual([
        ['Ready', 'False', 'NeverConnected'],
        ['Reconciling', 'True', 'NeverConnected'],
        ['Stalled', 'False', 'NeverConnected'],
      ]);
    }
  });

  it('takes its timeout from the caller', () => {
    expect(destinationConnection(destination('prod', {}, { lastSeenAt: ago(5_000) }), now, 5_000).connected).toBe(false);
    expect(destinationConnection(destination('prod', {}, { lastSeenAt: ago(4_999) }), now, 5_000)).toMatchObject({ connected: true, requeueAfterMs: 1001 });
  });
});

describe('groupMembership', () => {
  const { hub } = fakeHub({ users: [user('carl', 'carl@example.com'), user('dana', 'dana@example.com')] });

  it('counts the members and is MembersFound when each has a User, whatever the case of the email', () => {
    const result = groupMembership(group('oncall', ['Carl@Example.com', 'dana@example.com']), hub);
    expect(result.members).toHaveLength(2);
    expect(result.unknownMembers).toEqual([]);
    expect(result.conditions[0]).toEqual({ type: 'Ready', status: 'True', reason: 'MembersFound', message: '2 members' });
  });

  it('lists members without a User, sorted, and stays Ready (UnknownMembers): they join at their first login', () => {
    const result = groupMembership(group('oncall', ['zoe@example.com', 'carl@example.com', 'erin@example.com']), hub);
    expect(result.unknownMembers).toEqual(['erin@example.com', 'zoe@example.com']);
    expect(result.conditions[0]).toEqual({
      type: 'Ready',
      status: 'True',
      reason: 'UnknownMembers',
      message: '2 of 3 members have no User yet: erin@example.com, zoe@example.com',
    });
  });

  it('names at most five unknown members in its message', () => {
    const members = Array.from({ length: 7 }, (_, i) => `u${i}@example.com`);
    const result = groupMembership(group('big', members), hub);
    expect(result.unknownMembers).toHaveLength(7);
    expect(result.conditions[0]!.message).toBe(
      '7 of 7 members have no User yet: u0@example.com, u1@example.com, u2@example.com, u3@example.com, u4@example.com, …',
    );
  });

  it('is an empty group without members', () => {
    const empty = { ...group('empty', []), spec: {} };
    const result = groupMembership(empty, hub);
    expect(result).toMatchObject({ members: [], unknownMembers: [] });
    expect(result.conditions[0]).toMatchObject({ reason: 'MembersFound', message: '0 members' });
  });
});

describe('providerReady', () => {
  const ok = (type: string, reason: string): ConditionInput => ({ type, status: 'True', reason, message: `${type} ok` });
  const bad = (type: string, reason: string): ConditionInput => ({ type, status: 'False', reason, message: `${type} failed` });
  const notChecked: ConditionInput = {
    type: 'CredentialsValid',
    status: 'Unknown',
    reason: 'NotChecked',
    message: 'checked once discovery answers and the client secret is found',
  };

  it('is True only when the identity provider accepts the client', () => {
    expect(providerReady(ok('DiscoveryReachable', 'Discovered'), ok('ClientSecretFound', 'SecretFound'), ok('CredentialsValid', 'Accepted'))).toMatchObject({
      status: 'True',
      reason: 'Ready',
    });
  });

  it("is False with the first failing check's reason and every failing check's message", () => {
    expect(providerReady(bad('DiscoveryReachable', 'Unreachable'), bad('ClientSecretFound', 'SecretNotFound'), notChecked)).toEqual({
      type: 'Ready',
      status: 'False',
      reason: 'Unreachable',
      message: 'DiscoveryReachable failed; ClientSecretFound failed',
    });
    expect(
      providerReady(ok('DiscoveryReachable', 'Discovered'), ok('ClientSecretFound', 'SecretFound'), bad('CredentialsValid', 'InvalidClient')),
    ).toMatchObject({ status: 'False', reason: 'InvalidClient' });
  });

  it("is Unknown, with the credentials check's reason, while the credentials could not be checked", () => {
    const checkFailed: ConditionInput = {
      type: 'CredentialsValid',
      status: 'Unknown',
      reason: 'CheckFailed',
      message: 'could not check the client credentials: timeout',
    };
    expect(providerReady(ok('DiscoveryReachable', 'Discovered'), ok('ClientSecretFound', 'SecretFound'), checkFailed)).toEqual({
      type: 'Ready',
      status: 'Unknown',
      reason: 'CheckFailed',
      message: checkFailed.message,
    });
  });
});

describe('providerConditions', () => {
  const found: ConditionInput = { type: 'ClientSecretFound', status: 'True', reason: 'SecretFound', message: 'found' };
  const discovered: ConditionInput = { type: 'DiscoveryReachable', status: 'True', reason: 'Discovered', message: 'answers' };
  const kstatus = (conditions: ConditionInput[]) => conditions.slice(0, 3).map((c) => [c.type, c.status, c.reason]);

  it('is Current for kstatus once Ready, and carries the three checks after the pair', () => {
    const conditions = providerConditions(discovered, found, { type: 'CredentialsValid', status: 'True', reason: 'Accepted', message: 'accepted' });
    expect(kstatus(conditions)).toEqual([
      ['Ready', 'True', 'Ready'],
      ['Reconciling', 'False', 'Ready'],
      ['Stalled', 'False', 'Ready'],
    ]);
    expect(conditions.slice(3).map((c) => c.type)).toEqual(['DiscoveryReachable', 'ClientSecretFound', 'CredentialsValid']);
  });

  it('is Stalled while a check fails: a person must fix the issuer, the Secret or the client', () => {
    const unreachable: ConditionInput = { type: 'DiscoveryReachable', status: 'False', reason: 'Unreachable', message: 'cannot reach' };
    const notChecked: ConditionInput = { type: 'CredentialsValid', status: 'Unknown', reason: 'NotChecked', message: 'later' };
    expect(kstatus(providerConditions(unreachable, found, notChecked))).toEqual([
      ['Ready', 'False', 'Unreachable'],
      ['Reconciling', 'False', 'Unreachable'],
      ['Stalled', 'True', 'Unreachable'],
    ]);
  });

  it('is Reconciling while the credentials could not be checked: Ready Unknown is not Current', () => {
    const checkFailed: ConditionInput = { type: 'CredentialsValid', status: 'Unknown', reason: 'CheckFailed', message: 'timeout' };
    expect(kstatus(providerConditions(discovered, found, checkFailed))).toEqual([
      ['Ready', 'Unknown', 'CheckFailed'],
      ['Reconciling', 'True', 'CheckFailed'],
      ['Stalled', 'False', 'CheckFailed'],
    ]);
  });
});

const provider = (secretRef: { name: string; key: string }, name = 'okta'): Provider => ({
  apiVersion: 'infrahq.com/v1alpha1',
  kind: 'Provider',
  metadata: { name },
  spec: { kind: 'oidc', issuer: 'https://idp.example.com', clientID: 'infra', clientSecretRef: secretRef },
});

describe('secretCondition', () => {
  const bound = (provider: string, data: Record<string, string>, issuer = 'https://idp.example.com'): StoredSecret => ({
    ...providerSecretBinding(provider, issuer),
    data,
  });
  const secrets: Record<string, StoredSecret> = {
    'okta-client': bound('okta', { secret: 's3cret' }),
    'infra-provider-okta': bound('okta', { clientSecret: 'made-by-infra' }),
    empty: bound('okta', { secret: '' }),
    'google-client': bound('google', { secret: 'google-s3cret' }),
    'okta-elsewhere': bound('okta', { secret: 's3cret' }, 'https://attacker.example.com'),
    unlabelled: { labels: {}, annotations: {}, data: { secret: 's3cret' } },
  };
  const readStoredSecret = async (name: string) => secrets[name];

  it('is SecretFound when the referenced key has a value, and never carries the value', async () => {
    const c = await secretCondition(provider({ name: 'okta-client', key: 'secret' }), readStoredSecret);
    expect(c).toMatchObject({ status: 'True', reason: 'SecretFound' });
    expect(JSON.stringify(c)).not.toContain('s3cret');
  });

  it('is SecretNotFound for a missing or empty key, with the command that creates it', async () => {
    for (const ref of [
      { name: 'okta-client', key: 'other' },
      { name: 'missing', key: 'secret' },
      { name: 'empty', key: 'secret' },
    ]) {
      const c = await secretCondition(provider(ref), readStoredSecret);
      expect(c).toMatchObject({ status: 'False', reason: 'SecretNotFound' });
      expect(c.message).toContain('kubectl -n <operator namespace> create secret generic');
    }
  });

  it("is SecretNotAllowed, without reading it, for one of the operator's own Secrets", async () => {
    const read: string[] = [];
    const c = await secretCondition(provider({ name: 'infra-signing-key', key: 'key' }), async (name) => void read.push(name));
    expect(c).toMatchObject({ status: 'False', reason: 'SecretNotAllowed' });
    expect(read).toEqual([]);
  });

  it('lets a Provider use the Secret the operator made for it', async () => {
    expect(await secretCondition(provider({ name: 'infra-provider-okta', key: 'clientSecret' }), readStoredSecret)).toMatchObject({
      status: 'True',
      reason: 'SecretFound',
    });
    expect(await secretCondition(provider({ name: 'infra-provider-okta', key: 'clientSecret' }, 'other'), readStoredSecret)).toMatchObject({
      reason: 'SecretNotAllowed',
    });
  });

  it('is SecretNotAllowed, never carrying the value, for a Secret bound to another Provider, to another issuer, or to none, and says how to bind it', async () => {
    const cases: [string, string][] = [
      ['google-client', 'it is labelled infrahq.com/provider=google'],
      ['okta-elsewhere', 'it is annotated infrahq.com/issuer=https://attacker.example.com'],
      ['unlabelled', 'it has no label infrahq.com/provider'],
    ];
    for (const [name, found] of cases) {
      const c = await secretCondition(provider({ name, key: 'secret' }), readStoredSecret);
      expect(c).toMatchObject({ status: 'False', reason: 'SecretNotAllowed' });
      expect(c.message).toBe(
        `Provider okta may not use Secret ${name}: ${found}, and a Provider only uses a Secret labelled infrahq.com/provider=okta and annotated infrahq.com/issuer=https://idp.example.com, ` +
          `so that its value goes to no other Provider or issuer. If this Secret is meant for okta at https://idp.example.com, run: ` +
          `kubectl -n <operator namespace> label --overwrite secret ${name} infrahq.com/provider=okta && kubectl -n <operator namespace> annotate --overwrite secret ${name} infrahq.com/issuer=https://idp.example.com`,
      );
      expect(c.message).not.toContain('s3cret');
    }
  });
});

describe('credentialsCondition', () => {
  const clients = (check: () => Promise<void>) => ({ checkCredentials: check }) as unknown as ProviderClients;
  const p = provider({ name: 'okta-client', key: 'secret' });

  it('is Accepted when the identity provider takes the client', async () => {
    expect(
      await credentialsCondition(
        p,
        clients(async () => {}),
      ),
    ).toMatchObject({ status: 'True', reason: 'Accepted' });
  });

  it('is False (InvalidClient) when the identity provider refuses the client', async () => {
    const c = await credentialsCondition(
      p,
      clients(async () => Promise.reject(new UpstreamError('misconfigured', 'invalid_client'))),
    );
    expect(c).toEqual({ type: 'CredentialsValid', status: 'False', reason: 'InvalidClient', message: 'invalid_client' });
  });

  it('is Unknown (CheckFailed) when the identity provider could not be asked: an outage is not a wrong secret', async () => {
    for (const err of [new UpstreamError('unavailable', 'HTTP 503'), new Error('ECONNRESET')]) {
      const c = await credentialsCondition(
        p,
        clients(async () => Promise.reject(err)),
      );
      expect(c).toMatchObject({ status: 'Unknown', reason: 'CheckFailed' });
    }
  });
});

describe('checkDiscovery', () => {
  let server: Server;
  let base: string;
  const answers = new Map<string, (issuer: string) => { status: number; body?: unknown; location?: string }>();

  beforeAll(async () => {
    server = createServer((req, res) => {
      const issuer = `${base}${(req.url ?? '').replace('/.well-known/openid-configuration', '')}`;
      const answer = answers.get(req.url ?? '')?.(issuer) ?? { status: 404 };
      res.writeHead(answer.status, { 'content-type': 'application/json', ...(answer.location ? { location: answer.location } : {}) });
      res.end(answer.body === undefined ? '' : JSON.stringify(answer.body));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    answers.set('/good/.well-known/openid-configuration', (issuer) => ({ status: 200, body: { issuer } }));
    answers.set('/other/.well-known/openid-configuration', () => ({ status: 200, body: { issuer: 'https://elsewhere.example.com' } }));
    answers.set('/broken/.well-known/openid-configuration', () => ({ status: 500 }));
    answers.set('/moved/.well-known/openid-configuration', () => ({ status: 302, location: `${base}/good/.well-known/openid-configuration` }));
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('is Discovered when the discovery document names exactly the same issuer; with a trailing slash it is another issuer', async () => {
    expect(await checkDiscovery(`${base}/good`)).toMatchObject({ status: 'True', reason: 'Discovered' });
    expect(await checkDiscovery(`${base}/good/`)).toMatchObject({ status: 'False', reason: 'IssuerMismatch' });
  });

  it('is IssuerMismatch when the document names another issuer, and says which', async () => {
    const c = await checkDiscovery(`${base}/other`);
    expect(c).toMatchObject({ status: 'False', reason: 'IssuerMismatch' });
    expect(c.message).toContain('says its issuer is https://elsewhere.example.com');
  });

  it('is DiscoveryFailed with the HTTP status when discovery answers with an error', async () => {
    const c = await checkDiscovery(`${base}/broken`);
    expect(c).toMatchObject({ status: 'False', reason: 'DiscoveryFailed' });
    expect(c.message).toContain('HTTP 500');
  });

  it('does not follow a redirect', async () => {
    expect(await checkDiscovery(`${base}/moved`)).toMatchObject({ status: 'False', reason: 'Unreachable' });
  });

  it('is Unreachable when nothing answers', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const c = await checkDiscovery(`http://127.0.0.1:${port}`);
    expect(c).toMatchObject({ status: 'False', reason: 'Unreachable' });
    expect(c.message).toContain(`cannot reach http://127.0.0.1:${port}/.well-known/openid-configuration`);
  });
});

describe('userReady', () => {
  const hashes: Record<string, string> = { 'carl-password/hash': 'scrypt$…', 'infra-password-carl/hash': 'scrypt$…' };
  const readSecret = async (name: string, key: string) => hashes[`${name}/${key}`];
  const withPassword = (name: string, ref: { name: string; key: string }): User => ({
    ...user(name, `${name}@example.com`),
    spec: { email: `${name}@example.com`, passwordSecretRef: ref },
  });

  it('is PasswordSet when the referenced hash is there', async () => {
    expect(await userReady(withPassword('carl', { name: 'carl-password', key: 'hash' }), readSecret)).toMatchObject({ status: 'True', reason: 'PasswordSet' });
  });

  it('is PasswordSecretNotFound when it is not', async () => {
    expect(await userReady(withPassword('carl', { name: 'carl-password', key: 'other' }), readSecret)).toMatchObject({
      status: 'False',
      reason: 'PasswordSecretNotFound',
    });
  });

  it("is PasswordSecretNotAllowed for another user's operator-made password Secret, and allows its own", async () => {
    expect(await userReady(withPassword('dana', { name: 'infra-password-carl', key: 'hash' }), readSecret)).toMatchObject({
      status: 'False',
      reason: 'PasswordSecretNotAllowed',
    });
    expect(await userReady(withPassword('carl', { name: 'infra-password-carl', key: 'hash' }), readSecret)).toMatchObject({
      status: 'True',
      reason: 'PasswordSet',
    });
  });

  it('is ProviderUser for someone who logged in through a provider, and AwaitingLogin otherwise', async () => {
    expect(await userReady(user('carl', 'carl@example.com', { provider: 'okta' }), readSecret)).toMatchObject({
      status: 'True',
      reason: 'ProviderUser',
      message: 'logs in through provider okta',
    });
    expect(await userReady(user('carl', 'carl@example.com'), readSecret)).toMatchObject({ status: 'True', reason: 'AwaitingLogin' });
  });

  it('comes with kstatus Stalled when the User cannot log in, and neither Reconciling nor Stalled when it can', async () => {
    const kstatus = (conditions: ConditionInput[]) => conditions.map((c) => [c.type, c.status, c.reason]);
    expect(kstatus(await userConditions(withPassword('carl', { name: 'carl-password', key: 'other' }), readSecret))).toEqual([
      ['Ready', 'False', 'PasswordSecretNotFound'],
      ['Reconciling', 'False', 'PasswordSecretNotFound'],
      ['Stalled', 'True', 'PasswordSecretNotFound'],
    ]);
    expect(kstatus(await userConditions(withPassword('carl', { name: 'carl-password', key: 'hash' }), readSecret))).toEqual([
      ['Ready', 'True', 'PasswordSet'],
      ['Reconciling', 'False', 'PasswordSet'],
      ['Stalled', 'False', 'PasswordSet'],
    ]);
  });

  it('is not Ready when the identity provider refused the user, whatever else holds', async () => {
    const refused = {
      type: 'Verified',
      status: 'False' as const,
      reason: 'UserDisabled',
      message: 'the identity provider says the user is disabled',
      lastTransitionTime: ago(0),
    };
    const u = { ...withPassword('carl', { name: 'carl-password', key: 'hash' }), status: { provider: 'okta', conditions: [refused] } };
    expect(await userReady(u, readSecret)).toEqual({ type: 'Ready', status: 'False', reason: 'UserDisabled', message: refused.message });
  });
});
