// infra-operator as a real process against the real hub kube-apiserver: the auth API
// through the aggregation layer (kubectl --as) and through the public door, the
// controllers' status, and what must never happen (forged identities, leaked secrets).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, decodeJwt, jwtVerify, type JSONWebKeySet } from 'jose';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterCA } from '../hack/controlplane/controlplane.ts';
import { hashPassword } from '../operator/credentials/passwords.ts';
import { applyHub, cluster, grantObject, kubectl, kubectlOk, operatorServingCA, startAggregatedOperator, uniqueName } from '../test/cluster.ts';
import { https } from '../hack/local-infra/https.ts';
import { eventually, type RunningOperator } from '../hack/local-infra/programs.ts';

const authPath = '/apis/auth.infrahq.com/v1alpha1';
const ns = uniqueName('infra');
const destination = uniqueName('dest');
const hubGroup = uniqueName('oncall');
const builtInGroup = uniqueName('sre');
const suzie = `${uniqueName('suzie')}@example.com`;
const carl = `${uniqueName('carl')}@example.com`;
const carlPassword = 'correct horse battery staple';
const admin = `${uniqueName('root')}@example.com`;
let operator: RunningOperator;
let operatorCA: string;
let tmp: string;

function call(kind: string, plural: string, spec: object, headers: Record<string, string> = {}) {
  return https(`${operator.publicURL}${authPath}/${plural}`, {
    ca: operatorCA,
    headers,
    body: { apiVersion: 'auth.infrahq.com/v1alpha1', kind, spec },
  });
}

async function login(email: string, password: string): Promise<string> {
  const res = await call('Login', 'logins', { email, password });
  expect(res.status, res.text).toBe(201);
  return res.json<{ status: { sessionKey: string } }>().status.sessionKey;
}

async function jwks(): Promise<JSONWebKeySet> {
  const res = await https(`${operator.publicURL}/openid/v1/jwks`, { ca: operatorCA });
  expect(res.status).toBe(200);
  return res.json<JSONWebKeySet>();
}

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'infra-e2e-'));
  operator = await startAggregatedOperator(ns, { bootstrapAdmins: [admin] });
  operatorCA = await operatorServingCA(ns);

  const passwordHash = await hashPassword(carlPassword);
  await kubectlOk('hub', ['create', 'secret', 'generic', 'carl-password', '-n', ns, `--from-literal=hash=${passwordHash}`]);
  await applyHub([
    { apiVersion: 'infrahq.com/v1alpha1', kind: 'Destination', metadata: { name: destination }, spec: { kind: 'kubernetes' } },
    { apiVersion: 'infrahq.com/v1alpha1', kind: 'Group', metadata: { name: builtInGroup }, spec: { members: [suzie, carl] } },
    grantObject(`${hubGroup}-view`, { group: `hub:${hubGroup}`, role: 'view', resource: destination }),
    grantObject(`${builtInGroup}-edit-web`, { group: builtInGroup, role: 'edit', resource: `${destination}.web` }),
    {
      apiVersion: 'infrahq.com/v1alpha1',
      kind: 'User',
      metadata: { name: uniqueName('carl') },
      spec: { email: carl, passwordSecretRef: { name: 'carl-password', key: 'hash' } },
    },
    {
      apiVersion: 'infrahq.com/v1alpha1',
      kind: 'User',
      metadata: { name: uniqueName('root') },
      spec: { email: admin, passwordSecretRef: { name: 'carl-password', key: 'hash' } },
    },
  ]);
}, 120_000);

afterAll(async () => {
  await operator?.stop();
  await kubectl('hub', ['delete', 'apiservice', 'v1alpha1.auth.infrahq.com', '--ignore-not-found']);
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('the aggregated door', () => {
  it('is an Available APIService in the hub', async () => {
    await eventually(
      async () => {
        const conditions = JSON.parse(await kubectlOk('hub', ['get', 'apiservice', 'v1alpha1.auth.infrahq.com', '-o', 'jsonpath={.status.conditions}'])) as {
          type: string;
          status: string;
          message?: string;
        }[];
        expect(conditions).toContainEqual(expect.objectContaining({ type: 'Available', status: 'True' }));
      },
      45_000,
      500,
    );
    const table = await kubectlOk('hub', ['get', 'apiservice', 'v1alpha1.auth.infrahq.com']);
    expect(table).toMatch(/v1alpha1\.auth\.infrahq\.com\s+\S+\/infra-operator\s+True/);
    // The create-only requests stay out of the infra category: `kubectl get infra` still works.
    await eventually(async () =>
      expect(await kubectlOk('hub', ['api-resources', '--api-group=auth.infrahq.com', '-o', 'name'])).toContain('tokenrequests.auth.infrahq.com'),
    );
    expect((await kubectl('hub', ['get', 'infra'])).code).toBe(0);
  });

  it('issues a verifiable JWT to `kubectl create -f tokenrequest.yaml --as … --as-group …`', async () => {
    const file = join(tmp, 'tokenrequest.yaml');
    await writeFile(file, stringify({ apiVersion: 'auth.infrahq.com/v1alpha1', kind: 'TokenRequest', metadata: { name: 'mine' }, spec: { destination } }));
    const created = JSON.parse(await kubectlOk('hub', ['create', '-f', file, '--as', suzie, '--as-group', hubGroup, '-o', 'json'])) as {
      status: { token: string; expirationTimestamp: string };
    };
    const { payload, protectedHeader } = await jwtVerify(created.status.token, createLocalJWKSet(await jwks()), {
      issuer: operator.publicURL,
      audience: destination,
      algorithms: ['ES256'],
    });
    expect(protectedHeader.alg).toBe('ES256');
    expect(payload.sub).toBe(suzie);
    expect(payload.groups).toEqual([builtInGroup, `hub:${hubGroup}`].sort());
    expect(payload.exp! - payload.iat!).toBe(300);
    expect(payload.jti).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(Date.parse(created.status.expirationTimestamp)).toBe(payload.exp! * 1000);
  });

  it('refuses a destination the caller has no grant on, through kubectl, with a message that says why', async () => {
    const other = uniqueName('nogrant');
    await applyHub([{ apiVersion: 'infrahq.com/v1alpha1', kind: 'Destination', metadata: { name: other }, spec: { kind: 'kubernetes' } }]);
    const file = join(tmp, 'forbidden.yaml');
    await writeFile(file, stringify({ apiVersion: 'auth.infrahq.com/v1alpha1', kind: 'TokenRequest', metadata: { name: 'x' }, spec: { destination: other } }));
    const result = await kubectl('hub', ['create', '-f', file, '--as', suzie, '--as-group', hubGroup]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(`${suzie} has no grant on destination "${other}"`);
  });

  it('serves only TokenRequest and AccessReview: the hub lets everyone send those two, and the door refuses the rest, saying where they go', async () => {
    const empty = join(tmp, 'empty.json');
    await writeFile(empty, '{}');
    // The hub's RBAC stops the other kinds before they reach the operator.
    for (const resource of ['logins', 'logouts', 'accesskeys', 'passwordresets', 'passwordchanges', 'deviceauthorizations']) {
      const sent = await kubectl('hub', ['create', '--raw', `${authPath}/${resource}`, '-f', empty, '--as', suzie]);
      expect(sent.code, resource).not.toBe(0);
      expect(sent.stderr).toContain(`cannot create resource "${resource}" in API group "auth.infrahq.com"`);
    }
    const discovery = JSON.parse(await kubectlOk('hub', ['get', '--raw', authPath])) as { resources: { name: string }[] };
    expect(discovery.resources.map((r) => r.name).sort()).toEqual(['accessreviews', 'tokenrequests']);
    // Even a hub identity the hub lets through (its admin) gets nothing else from the door.
    const file = join(tmp, 'passwordreset.json');
    await writeFile(file, JSON.stringify({ apiVersion: 'auth.infrahq.com/v1alpha1', kind: 'PasswordReset', spec: { user: carl } }));
    const reset = await kubectl('hub', ['create', '--raw', `${authPath}/passwordresets`, '-f', file]);
    expect(reset.code).not.toBe(0);
    expect(reset.stderr).toContain("PasswordReset is not served through the hub's aggregation layer");
    expect(reset.stderr).toContain('use the infra CLI');
  });

  it('matches hub usernames exactly: Admin@Example.com in the hub is not the Infra user admin@example.com', async () => {
    const review = async (as: string) => {
      const file = join(tmp, 'accessreview.yaml');
      await writeFile(file, stringify({ apiVersion: 'auth.infrahq.com/v1alpha1', kind: 'AccessReview', metadata: { name: 'mine' }, spec: {} }));
      return (JSON.parse(await kubectlOk('hub', ['create', '-f', file, '--as', as, '-o', 'json'])) as { status: { user: unknown; infraRole?: string } }).status;
    };
    expect((await review(admin)).infraRole).toBe('admin');
    expect(await review(carl)).toMatchObject({ user: { email: carl, groups: [builtInGroup] } });
    const shouting = (email: string) => email.replace(/^./, (c) => c.toUpperCase()).replace('@example.com', '@Example.com');
    expect(await review(shouting(admin))).toEqual({ user: { email: shouting(admin), groups: [] }, destinations: [] });
    expect(await review(shouting(carl))).toEqual({ user: { email: shouting(carl), groups: [] }, destinations: [] });
  });

  it('refuses `kubectl create --dry-run=server` with a 400 that says why, instead of doing it for real', async () => {
    const file = join(tmp, 'dry-run.yaml');
    await writeFile(file, stringify({ apiVersion: 'auth.infrahq.com/v1alpha1', kind: 'TokenRequest', metadata: { name: 'dry' }, spec: { destination } }));
    const result = await kubectl('hub', ['create', '-f', file, '--dry-run=server', '--as', suzie, '--as-group', hubGroup, '-o', 'json']);
    expect(result.code).not.toBe(0);
    expect(result.stdout).not.toContain('token');
    expect(result.stderr).toContain('dry run is not supported for TokenRequest');
    expect(result.stderr).toContain('send it without --dry-run=server');
  });

  describe('trusts identity headers only from the hub front proxy', () => {
    const forged = { 'X-Remote-User': 'admin@example.com', 'X-Remote-Group': hubGroup };
    const request = (tls: { cert?: string; key?: string }) =>
      https(`https://127.0.0.1:${operator.aggregatedPort}${authPath}/tokenrequests`, {
        ca: operatorCA,
        ...tls,
        headers: forged,
        body: { apiVersion: 'auth.infrahq.com/v1alpha1', kind: 'TokenRequest', spec: { destination } },
      });

    it('refuses forged X-Remote-User without a client certificate', async () => {
      const res = await request({});
      expect(res.status).toBe(401);
      expect(res.json()).toMatchObject({ kind: 'Status', reason: 'Unauthorized' });
      expect(res.text).not.toContain('token');
    });

    it('refuses a client certificate from another CA (the hub client CA)', async () => {
      const client = await (await clusterCA(cluster('hub'), 'client')).issue({ commonName: 'front-proxy-client', usage: 'client' });
      expect((await request(client)).status).toBe(401);
    });

    it('refuses a front-proxy certificate whose CN is not allowed', async () => {
      const client = await (await clusterCA(cluster('hub'), 'frontProxy')).issue({ commonName: 'not-the-proxy', usage: 'client' });
      expect((await request(client)).status).toBe(401);
    });

    it('accepts the allowed front-proxy CN (so the refusals above are about the certificate)', async () => {
      const client = await (await clusterCA(cluster('hub'), 'frontProxy')).issue({ commonName: 'front-proxy-client', usage: 'client' });
      const res = await request(client);
      expect(res.status, res.text).toBe(201);
      expect(decodeJwt(res.json<{ status: { token: string } }>().status.token).sub).toBe('admin@example.com');
    });

    it('ignores X-Remote-* headers on the public door', async () => {
      const res = await call('TokenRequest', 'tokenrequests', { destination }, forged);
      expect(res.status).toBe(401);
      expect(res.json()).toMatchObject({ reason: 'Unauthorized', message: expect.stringContaining('authentication failed') });
    });
  });
});

describe('the public door', () => {
  it('logs a built-in user in with a password and serves tokens and access for the session', async () => {
    const sessionKey = await login(carl, carlPassword);
    const bearer = { authorization: `Bearer ${sessionKey}` };

    const review = await call('AccessReview', 'accessreviews', {}, bearer);
    expect(review.status, review.text).toBe(201);
    expect(review.json<{ status: unknown }>().status).toMatchObject({
      user: { email: carl, groups: [builtInGroup] },
      destinations: [{ name: destination, clusterRoles: [], namespaces: [{ name: 'web', roles: ['edit'] }] }],
    });

    const token = await call('TokenRequest', 'tokenrequests', { destination }, bearer);
    expect(token.status, token.text).toBe(201);
    expect(token.headers).not.toHaveProperty('etag'); // no body hash nobody asks for
    expect(token.headers).not.toHaveProperty('x-powered-by');
    const { payload } = await jwtVerify(token.json<{ status: { token: string } }>().status.token, createLocalJWKSet(await jwks()), {
      issuer: operator.publicURL,
      audience: destination,
    });
    expect(payload).toMatchObject({ sub: carl, groups: [builtInGroup] });

    const discovery = await https(`${operator.publicURL}/.well-known/openid-configuration`, { ca: operatorCA });
    expect(discovery.json()).toMatchObject({ issuer: operator.publicURL, jwks_uri: `${operator.publicURL}/openid/v1/jwks` });
  });

  it('records the login as an Event on the User and an audit line', async () => {
    const user = JSON.parse(await kubectlOk('hub', ['get', 'users', '-o', 'json'])) as { items: { metadata: { name: string }; spec: { email: string } }[] };
    const name = user.items.find((u) => u.spec.email === carl)!.metadata.name;
    const userEvents = (field: 'reason' | 'message') =>
      kubectlOk('hub', ['get', 'events', '-n', 'default', '--field-selector', `involvedObject.name=${name}`, '-o', `jsonpath={.items[*].${field}}`]);
    await eventually(async () => expect(await userEvents('reason')).toContain('LoggedIn'));
    // Events in default name the User object, never the person's email.
    const messages = await userEvents('message');
    expect(messages).toContain('logged in with');
    expect(messages).not.toContain(carl);
    await eventually(() => {
      const audit = operator.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.audit === true);
      expect(audit).toContainEqual(expect.objectContaining({ action: 'login', user: carl, result: 'allowed', method: 'password' }));
      expect(audit).toContainEqual(expect.objectContaining({ action: 'token', user: carl, destination, result: 'issued' }));
    });
  });

  it.each([
    ['a wrong password', { email: carl, password: 'wrong' }],
    ['an unknown user', { email: `${uniqueName('nobody')}@example.com`, password: carlPassword }],
  ])('answers %s with the same 401 Status', async (_case, spec) => {
    const res = await call('Login', 'logins', spec);
    expect(res.status).toBe(401);
    expect(res.json()).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      reason: 'Unauthorized',
      code: 401,
      message: 'authentication failed: log in again (infra login)',
    });
  });

  it.each([
    ['malformed JSON', '{"apiVersion": ', 400, /not valid JSON/],
    [
      'a body over 64 KiB',
      { apiVersion: 'auth.infrahq.com/v1alpha1', kind: 'TokenRequest', spec: { destination: 'x'.repeat(64 * 1024) } },
      413,
      /larger than 64 KiB/,
    ],
    [
      'the wrong kind',
      { apiVersion: 'auth.infrahq.com/v1alpha1', kind: 'Login', spec: {} },
      400,
      /expected apiVersion auth\.infrahq\.com\/v1alpha1 and kind TokenRequest/,
    ],
    [
      'an invalid destination name',
      { apiVersion: 'auth.infrahq.com/v1alpha1', kind: 'TokenRequest', spec: { destination: 'Prod!' } },
      422,
      /spec\.destination: must be the name of a Destination/,
    ],
    [
      'an unknown field',
      { apiVersion: 'auth.infrahq.com/v1alpha1', kind: 'TokenRequest', spec: { destination, audience: 'x' } },
      422,
      /spec: Unrecognized key: "audience"/,
    ],
  ])('rejects %s with a Status a person understands', async (_case, body, code, message) => {
    const sessionKey = await login(carl, carlPassword);
    const res = await https(`${operator.publicURL}${authPath}/tokenrequests`, { ca: operatorCA, headers: { authorization: `Bearer ${sessionKey}` }, body });
    expect(res.status).toBe(code);
    expect(res.json()).toMatchObject({ kind: 'Status', code });
    expect(res.json<{ message: string }>().message).toMatch(message);
  });

  it('refuses an unknown destination and one without a grant, differently', async () => {
    const bearer = { authorization: `Bearer ${await login(carl, carlPassword)}` };
    const unknown = await call('TokenRequest', 'tokenrequests', { destination: uniqueName('missing') }, bearer);
    expect(unknown.status).toBe(404);
    expect(unknown.json<{ message: string }>().message).toMatch(/does not exist; run `infra list`/);
    const other = uniqueName('other');
    await applyHub([{ apiVersion: 'infrahq.com/v1alpha1', kind: 'Destination', metadata: { name: other }, spec: { kind: 'kubernetes' } }]);
    await eventually(async () => {
      const res = await call('TokenRequest', 'tokenrequests', { destination: other }, bearer);
      expect(res.status).toBe(403);
      expect(res.json<{ message: string }>().message).toContain(`${carl} has no grant on destination "${other}"`);
    });
  });

  it('refuses a session after logout, after it expires, and after it is revoked', async () => {
    const tokenWith = (key: string) => call('TokenRequest', 'tokenrequests', { destination }, { authorization: `Bearer ${key}` });
    const sessionSecret = (key: string) => `infra-session-${key.slice(4, 20)}`;

    const loggedOut = await login(carl, carlPassword);
    expect((await tokenWith(loggedOut)).status).toBe(201);
    const logout = await call('Logout', 'logouts', {}, { authorization: `Bearer ${loggedOut}` });
    expect(logout.status, logout.text).toBe(201);
    expect((await tokenWith(loggedOut)).status).toBe(401);

    const expired = await login(carl, carlPassword);
    await kubectlOk('hub', ['annotate', 'secret', '-n', ns, sessionSecret(expired), '--overwrite', 'infrahq.com/expires-at=2020-01-01T00:00:00Z']);
    await eventually(async () => expect((await tokenWith(expired)).status).toBe(401));

    const revoked = await login(carl, carlPassword);
    await kubectlOk('hub', ['delete', 'secret', '-n', ns, sessionSecret(revoked)]);
    await eventually(async () => expect((await tokenWith(revoked)).status).toBe(401));
  });

  it('stores only hashes of session keys', async () => {
    const sessionKey = await login(carl, carlPassword);
    const secrets = await kubectlOk('hub', ['get', 'secrets', '-n', ns, '-l', 'infrahq.com/credential', '-o', 'json']);
    expect(secrets).not.toContain(sessionKey.split('.')[1]);
    expect(Buffer.from(secrets).toString('base64')).not.toContain(Buffer.from(sessionKey.split('.')[1]!).toString('base64'));
  });
});

describe('access keys', () => {
  const createKey = (sessionKey: string, spec: object) => call('AccessKey', 'accesskeys', spec, { authorization: `Bearer ${sessionKey}` });

  it('are created by a user for themselves, exchanged for a session at login, and usable as a bearer', async () => {
    const created = await createKey(await login(carl, carlPassword), { name: 'ci-deploy', ttl: '2h' });
    expect(created.status, created.text).toBe(201);
    const { accessKey, expirationTimestamp, user } = created.json<{ status: { accessKey: string; expirationTimestamp: string; user: string } }>().status;
    expect(user).toBe(carl);
    expect(Date.parse(expirationTimestamp) - Date.now()).toBeGreaterThan(119 * 60_000);
    const exchanged = await call('Login', 'logins', { accessKey });
    expect(exchanged.status, exchanged.text).toBe(201);
    expect(exchanged.json<{ status: { user: { email: string } } }>().status.user.email).toBe(carl);
    const direct = await call('TokenRequest', 'tokenrequests', { destination }, { authorization: `Bearer ${accessKey}` });
    expect(direct.status, direct.text).toBe(201);
  });

  it('for someone else need an Infra admin (here the bootstrap admin from the operator config)', async () => {
    const refused = await createKey(await login(carl, carlPassword), { name: 'not-mine', user: admin });
    expect(refused.status).toBe(403);
    expect(refused.json<{ message: string }>().message).toMatch(/only an Infra admin/);
    const adminSession = await login(admin, carlPassword);
    const review = await call('AccessReview', 'accessreviews', {}, { authorization: `Bearer ${adminSession}` });
    expect(review.json<{ status: { infraRole?: string } }>().status.infraRole).toBe('admin');
    const granted = await createKey(adminSession, { name: 'for-carl', user: carl });
    expect(granted.status, granted.text).toBe(201);
    const missing = await createKey(adminSession, { name: 'ghost', user: `${uniqueName('ghost')}@example.com` });
    expect(missing.status).toBe(404);
  });

  it('are listed and revoked by name on the public door, ending the sessions made with them', async () => {
    const session = await login(carl, carlPassword);
    const bearer = { authorization: `Bearer ${session}` };
    const { accessKey } = (await createKey(session, { name: 'robot' })).json<{ status: { accessKey: string } }>().status;
    const exchanged = (await call('Login', 'logins', { accessKey })).json<{ status: { sessionKey: string } }>().status.sessionKey;
    const keysURL = `${operator.publicURL}${authPath}/accesskeys`;

    const listed = await https(keysURL, { ca: operatorCA, headers: bearer });
    expect(listed.status, listed.text).toBe(200);
    expect(listed.json<{ items: { name: string; user: string }[] }>().items).toContainEqual(expect.objectContaining({ name: 'robot', user: carl }));
    expect(listed.text).not.toContain(accessKey.split('.')[1]);
    const others = await https(`${keysURL}?user=${encodeURIComponent(admin)}`, { ca: operatorCA, headers: bearer });
    expect(others.json()).toMatchObject({
      code: 403,
      message: `only an Infra admin (a Grant with role admin on resource infra) may see or revoke the access keys of ${admin}`,
    });

    const revoked = await https(`${keysURL}/robot`, { method: 'DELETE', ca: operatorCA, headers: bearer });
    expect(revoked.json()).toMatchObject({ status: 'Success' });
    await eventually(async () => {
      expect((await call('Login', 'logins', { accessKey })).status).toBe(401);
      expect((await call('AccessReview', 'accessreviews', {}, { authorization: `Bearer ${exchanged}` })).status).toBe(401);
    });
    const again = await https(`${keysURL}/robot`, { method: 'DELETE', ca: operatorCA, headers: bearer });
    expect(again.json()).toMatchObject({ code: 404, message: `${carl} has no access key named robot; \`infra keys list\` shows them` });
  });

  it('stop working when revoked', async () => {
    const { accessKey } = (await createKey(await login(carl, carlPassword), { name: 'short-lived' })).json<{ status: { accessKey: string } }>().status;
    await kubectlOk('hub', ['delete', 'secret', '-n', ns, `infra-access-key-${accessKey.slice(4, 20)}`]);
    await eventually(async () => expect((await call('Login', 'logins', { accessKey })).status).toBe(401));
  });
});

describe('the controllers', () => {
  it('label each Grant with its destination, and report it waiting for a connector the Destination does not have yet', async () => {
    await eventually(async () => {
      const grant = JSON.parse(await kubectlOk('hub', ['get', 'grant', `${hubGroup}-view`, '-o', 'json'])) as {
        metadata: { labels?: Record<string, string>; generation: number };
        status?: { observedGeneration?: number; conditions?: { type: string; status: string; reason: string }[] };
      };
      expect(grant.metadata.labels?.['infrahq.com/destination']).toBe(destination);
      expect(grant.status?.observedGeneration).toBe(grant.metadata.generation);
      // No connector has registered for this Destination (this suite runs none), so nothing
      // is bound yet: kstatus reads it as InProgress, not Current (e2e/grant-status.test.ts has the connector).
      expect(grant.status?.conditions).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ type: 'Ready', status: 'False', reason: 'AwaitingConnector' }),
          expect.objectContaining({ type: 'Reconciling', status: 'True', reason: 'AwaitingConnector' }),
          expect.objectContaining({ type: 'Stalled', status: 'False' }),
        ]),
      );
    });
    const labelled = await kubectlOk('hub', ['get', 'grants', '-l', `infrahq.com/destination=${destination}`, '-o', 'name']);
    expect(labelled.trim().split('\n').sort()).toEqual([`grant.infrahq.com/${builtInGroup}-edit-web`, `grant.infrahq.com/${hubGroup}-view`].sort());
  });

  it('report a Grant on an unknown destination, and expire a Grant on time', async () => {
    const lost = uniqueName('lost');
    const temporary = uniqueName('temporary');
    const expiresAt = new Date(Date.now() + 3000).toISOString().replace(/\.\d+Z$/, 'Z');
    await applyHub([
      grantObject(lost, { user: suzie, role: 'view', resource: uniqueName('nowhere') }),
      grantObject(temporary, { user: carl, role: 'view', resource: destination, expiresAt }),
    ]);
    await eventually(async () => {
      const ready = await kubectlOk('hub', ['get', 'grant', lost, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].reason}']);
      expect(ready).toBe('DestinationNotFound');
      // A destination nobody added (or a typo): only a person can fix it, kstatus Failed.
      expect(await kubectlOk('hub', ['get', 'grant', lost, '-o', 'jsonpath={.status.conditions[?(@.type=="Stalled")].status}'])).toBe('True');
    });
    await eventually(async () => {
      const grant = JSON.parse(await kubectlOk('hub', ['get', 'grant', temporary, '-o', 'json'])) as {
        status?: { expired?: boolean; expiredAt?: string; conditions?: { type: string; reason: string }[] };
      };
      expect(grant.status?.expired).toBe(true);
      expect(Date.parse(grant.status!.expiredAt!)).toBeGreaterThanOrEqual(Date.parse(expiresAt));
      expect(grant.status?.conditions).toContainEqual(expect.objectContaining({ type: 'Ready', reason: 'Expired' }));
      // Only a person can revive it: kstatus Failed.
      expect(grant.status?.conditions).toContainEqual(expect.objectContaining({ type: 'Stalled', status: 'True', reason: 'Expired' }));
    }, 15_000);
    const table = await kubectlOk('hub', ['get', 'grant', temporary]);
    expect(table).toMatch(new RegExp(`${temporary}\\s+${carl.replace('.', '\\.')}\\s+view\\s+${destination}\\s+False`));
  });

  it("count a Group's members and name those without a User", async () => {
    await eventually(async () => {
      const status = JSON.parse(await kubectlOk('hub', ['get', 'group', builtInGroup, '-o', 'jsonpath={.status}'])) as {
        memberCount: number;
        unknownMembers: string[];
      };
      expect(status).toMatchObject({ memberCount: 2, unknownMembers: [suzie] });
    });
  });

  it('say plainly why a Provider is not Ready', async () => {
    const name = uniqueName('okta');
    await applyHub([
      {
        apiVersion: 'infrahq.com/v1alpha1',
        kind: 'Provider',
        metadata: { name },
        spec: { kind: 'okta', issuer: 'https://127.0.0.1:1', clientID: 'abc', clientSecretRef: { name: 'missing', key: 'clientSecret' } },
      },
    ]);
    await eventually(async () => {
      const message = await kubectlOk('hub', ['get', 'provider', name, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].message}']);
      expect(message).toContain('cannot reach https://127.0.0.1:1/.well-known/openid-configuration');
      expect(message).toContain("Secret missing in the operator's namespace has no key clientSecret");
    });
  });

  it('revoke every session of a deleted User at once', async () => {
    const email = `${uniqueName('leaver')}@example.com`;
    const name = uniqueName('leaver');
    await applyHub([
      { apiVersion: 'infrahq.com/v1alpha1', kind: 'User', metadata: { name }, spec: { email, passwordSecretRef: { name: 'carl-password', key: 'hash' } } },
    ]);
    const sessionKey = await eventually(() => login(email, carlPassword));
    await kubectlOk('hub', ['delete', 'user', name]);
    await eventually(async () => {
      expect(await kubectlOk('hub', ['get', 'secrets', '-n', ns, '-l', `infrahq.com/user=${name}`, '-o', 'name'])).toBe('');
    });
    const res = await call('AccessReview', 'accessreviews', {}, { authorization: `Bearer ${sessionKey}` });
    expect(res.status).toBe(401);
  });
});

describe('logs', () => {
  it('never contain a password, session key or token', async () => {
    const sessionKey = await login(carl, carlPassword);
    const token = (await call('TokenRequest', 'tokenrequests', { destination }, { authorization: `Bearer ${sessionKey}` })).json<{
      status: { token: string };
    }>().status.token;
    await call('Login', 'logins', { email: carl, password: 'a-wrong-password-123' });
    const logs = operator.logs.join('\n');
    expect(logs.length).toBeGreaterThan(1000);
    for (const secret of [carlPassword, 'a-wrong-password-123', sessionKey, sessionKey.split('.')[1]!, token, token.split('.')[2]!]) {
      expect(logs).not.toContain(secret);
    }
    const { keys } = JSON.parse(
      Buffer.from(await kubectlOk('hub', ['get', 'secret', '-n', ns, 'infra-signing-keys', '-o', 'jsonpath={.data.keys\\.json}']), 'base64').toString(),
    ) as { keys: { privateJwk: { d: string } }[] };
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) expect(logs).not.toContain(key.privateJwk.d);
  });
});

describe('answers never echo a credential from the request', () => {
  it('leaves passwords, access keys and codes out of the spec it repeats, and a dry run resets no password', async () => {
    const erin = `${uniqueName('erin')}@example.com`;
    const erinPassword = 'erin picks a passphrase';
    await applyHub([
      {
        apiVersion: 'infrahq.com/v1alpha1',
        kind: 'User',
        metadata: { name: uniqueName('erin') },
        spec: { email: erin, passwordSecretRef: { name: 'carl-password', key: 'hash' } },
      },
    ]);
    const loggedIn = await eventually(async () => {
      const res = await call('Login', 'logins', { email: erin, password: carlPassword });
      expect(res.status, res.text).toBe(201);
      return res;
    });
    expect(loggedIn.text).not.toContain(carlPassword);
    expect(loggedIn.json()).toMatchObject({ spec: { email: erin } });
    const bearer = { authorization: `Bearer ${loggedIn.json<{ status: { sessionKey: string } }>().status.sessionKey}` };

    const changed = await call('PasswordChange', 'passwordchanges', { currentPassword: carlPassword, newPassword: erinPassword }, bearer);
    expect(changed.status, changed.text).toBe(201);
    expect(changed.text).not.toContain(carlPassword);
    expect(changed.text).not.toContain(erinPassword);

    const { accessKey } = (await call('AccessKey', 'accesskeys', { name: 'ci' }, bearer)).json<{ status: { accessKey: string } }>().status;
    const withKey = await call('Login', 'logins', { accessKey });
    expect(withKey.status, withKey.text).toBe(201);
    expect(withKey.text).not.toContain(accessKey.split('.')[1]);

    // An admin's PasswordReset with ?dryRun=All is refused and changes nothing.
    const adminBearer = { authorization: `Bearer ${await login(admin, carlPassword)}` };
    const dryReset = await https(`${operator.publicURL}${authPath}/passwordresets?dryRun=All`, {
      ca: operatorCA,
      headers: adminBearer,
      body: { apiVersion: 'auth.infrahq.com/v1alpha1', kind: 'PasswordReset', spec: { user: erin } },
    });
    expect(dryReset.status).toBe(400);
    expect(dryReset.json()).toMatchObject({
      kind: 'Status',
      reason: 'BadRequest',
      message: expect.stringContaining('dry run is not supported for PasswordReset'),
    });
    const stillHers = await call('Login', 'logins', { email: erin, password: erinPassword });
    expect(stillHers.status, stillHers.text).toBe(201);
    expect(stillHers.json<{ status: { passwordChangeRequired?: boolean } }>().status.passwordChangeRequired).toBeUndefined();
  });
});
