// The management API on the operator's public door, with the operator as a real process
// against the real hub: who may read and write Infra's objects (Grants on resource
// `infra`, bootstrap admins), and that every write is the hub's own, validation included.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../operator/credentials/passwords.ts';
import { applyHub, cluster, kubectl, kubectlOk, operatorServingCA, uniqueName } from '../test/cluster.ts';
import { https, type HttpsOptions } from '../hack/local-infra/https.ts';
import { eventually, startOperator, type RunningOperator } from '../hack/local-infra/programs.ts';

const api = '/apis/infrahq.com/v1alpha1';
const ns = uniqueName('infra');
const password = 'correct horse battery staple';
const admin = `${uniqueName('root')}@example.com`;
const viewer = `${uniqueName('vera')}@example.com`;
const nobody = `${uniqueName('nora')}@example.com`;
const destination = uniqueName('dest');
const group = uniqueName('oncall');
let operator: RunningOperator;
let operatorCA: string;
const sessions: Record<string, string> = {};

function request(path: string, key: string | undefined, options: HttpsOptions = {}) {
  return https(`${operator.publicURL}${path}`, {
    ca: operatorCA,
    ...options,
    headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...options.headers },
  });
}

const grant = (spec: object, metadata: object = {}) => ({ apiVersion: 'infrahq.com/v1alpha1', kind: 'Grant', metadata, spec });

beforeAll(async () => {
  await kubectlOk('hub', ['create', 'namespace', ns]);
  operator = await startOperator({ kubeconfig: cluster('hub').adminKubeconfig, namespace: ns, config: { bootstrapAdmins: [admin] } });
  operatorCA = await operatorServingCA(ns);
  await kubectlOk('hub', ['create', 'secret', 'generic', 'passwords', '-n', ns, `--from-literal=hash=${await hashPassword(password)}`]);
  const users = [admin, viewer, nobody].map((email) => ({
    apiVersion: 'infrahq.com/v1alpha1',
    kind: 'User',
    metadata: { name: email.split('@')[0] },
    spec: { email, passwordSecretRef: { name: 'passwords', key: 'hash' } },
  }));
  const viewGrant = grant({ user: viewer, role: 'view', resource: 'infra' }, { name: uniqueName('vera-view-infra') });
  await applyHub([...users, viewGrant]);
  for (const email of [admin, viewer, nobody]) {
    const login = await request('/apis/auth.infrahq.com/v1alpha1/logins', undefined, {
      body: { apiVersion: 'auth.infrahq.com/v1alpha1', kind: 'Login', spec: { email, password } },
    });
    expect(login.status, login.text).toBe(201);
    sessions[email] = login.json<{ status: { sessionKey: string } }>().status.sessionKey;
  }
}, 120_000);

afterAll(async () => {
  await operator?.stop();
  await kubectl('hub', ['delete', 'grants,groups,providers', '-l', `test=${ns}`, '--ignore-not-found']);
});

describe('who may manage Infra', () => {
  it('refuses callers without a session, and callers without a Grant on resource infra', async () => {
    expect((await request(`${api}/grants`, undefined)).json()).toMatchObject({ kind: 'Status', code: 401 });
    const refused = await request(`${api}/grants`, sessions[nobody]);
    expect(refused.status).toBe(403);
    expect(refused.json()['message']).toBe(`${nobody} may not list grants: that needs a Grant with role view or admin on resource infra`);
  });

  it('lets a view admin list and get, but not write', async () => {
    const list = await request(`${api}/users`, sessions[viewer]);
    expect(list.status).toBe(200);
    expect(list.json<{ kind: string; items: { spec: { email: string } }[] }>()).toMatchObject({ kind: 'UserList' });
    expect(list.json<{ items: { spec: { email: string } }[] }>().items.map((u) => u.spec.email)).toEqual(expect.arrayContaining([admin, viewer, nobody]));
    const denied = await request(`${api}/grants`, sessions[viewer], { body: grant({ group, role: 'view', resource: destination }) });
    expect(denied.status).toBe(403);
    expect(denied.json()['message']).toBe(`${viewer} may not create grants: that needs a Grant with role admin on resource infra`);
  });
});

describe('writes', () => {
  it('creates a Grant with a derived name and who made it, idempotently', async () => {
    const created = await request(`${api}/grants`, sessions[admin], {
      body: grant({ group, role: 'edit', resource: `${destination}.web` }, { labels: { test: ns } }),
    });
    expect(created.status, created.text).toBe(201);
    const object = created.json<{ metadata: { name: string; annotations: Record<string, string> }; spec: object }>();
    expect(object.metadata.name).toMatch(new RegExp(`^${group}-edit-${destination}-web-[0-9a-f]{8}$`));
    expect(object.metadata.annotations['infrahq.com/created-by']).toBe(admin);
    // The hub holds exactly that, and a list right after the write sees it.
    expect(JSON.parse(await kubectlOk('hub', ['get', 'grant', object.metadata.name, '-o', 'jsonpath={.spec}']))).toEqual({
      group,
      role: 'edit',
      resource: `${destination}.web`,
    });
    const listed = (await request(`${api}/grants`, sessions[viewer])).json<{ items: { metadata: { name: string } }[] }>();
    expect(listed.items.map((g) => g.metadata.name)).toContain(object.metadata.name);
    const again = await request(`${api}/grants`, sessions[admin], { body: grant({ group, role: 'edit', resource: `${destination}.web` }) });
    expect(again.status).toBe(200);
    expect(again.json<{ metadata: { name: string } }>().metadata.name).toBe(object.metadata.name);
  });

  it("answers bad input with the hub's own validation, or a Status that says what is wrong", async () => {
    const invalid = await request(`${api}/grants`, sessions[admin], { body: grant({ group, role: 'view', resource: 'Not_A_Destination' }) });
    expect(invalid.status).toBe(422);
    expect(invalid.json()['message']).toMatch(/spec\.resource/);
    const both = await request(`${api}/grants`, sessions[admin], { body: grant({ group, user: admin, role: 'view', resource: destination }) });
    expect(both.json()).toMatchObject({ code: 422, message: 'Grant is invalid: spec: set exactly one of user (an email) or group (a group name)' });
    const wrongKind = await request(`${api}/grants`, sessions[admin], { body: { apiVersion: 'v1', kind: 'ConfigMap', spec: {} } });
    expect(wrongKind.json()).toMatchObject({ code: 400, message: 'expected apiVersion infrahq.com/v1alpha1 and kind Grant, got v1 ConfigMap' });
    const malformed = await request(`${api}/grants`, sessions[admin], { body: '{"kind":' });
    expect(malformed.json()).toMatchObject({ code: 400, reason: 'BadRequest', message: expect.stringMatching(/^the request body is not valid JSON: /) });
    const tooLarge = await request(`${api}/grants`, sessions[admin], { body: grant({ group: 'x'.repeat(64 * 1024), role: 'view', resource: destination }) });
    expect(tooLarge.json()).toMatchObject({ code: 413, reason: 'RequestEntityTooLarge', message: 'the request body is larger than 64 KiB' });
    const unknown = await request(`${api}/widgets`, sessions[admin]);
    expect(unknown.json()).toMatchObject({ code: 404, message: 'the server could not find the requested resource widgets.infrahq.com' });
    const secretOnGrant = await request(`${api}/grants`, sessions[admin], {
      body: { ...grant({ group, role: 'view', resource: destination }), clientSecret: 'x' },
    });
    expect(secretOnGrant.json()).toMatchObject({ code: 422 });
  });

  it("keeps a Provider's client secret in a Secret of the operator's namespace, never in the Provider", async () => {
    const name = uniqueName('okta');
    const body = {
      apiVersion: 'infrahq.com/v1alpha1',
      kind: 'Provider',
      metadata: { name, labels: { test: ns } },
      spec: { kind: 'oidc', issuer: 'https://127.0.0.1:1/idp', clientID: 'infra' },
      clientSecret: 's3cr3t-value',
    };
    const created = await request(`${api}/providers`, sessions[admin], { body });
    expect(created.status, created.text).toBe(201);
    expect(created.text).not.toContain('s3cr3t-value');
    const ref = JSON.parse(await kubectlOk('hub', ['get', 'provider', name, '-o', 'jsonpath={.spec.clientSecretRef}'])) as { name: string; key: string };
    const stored = await kubectlOk('hub', ['get', 'secret', '-n', ns, ref.name, '-o', `jsonpath={.data.${ref.key}}`]);
    expect(Buffer.from(stored, 'base64').toString()).toBe('s3cr3t-value');
    const metadata = JSON.parse(await kubectlOk('hub', ['get', 'secret', '-n', ns, ref.name, '-o', 'jsonpath={.metadata}'])) as {
      labels: Record<string, string>;
      annotations: Record<string, string>;
      ownerReferences: { kind: string; name: string }[];
    };
    expect(metadata.labels).toMatchObject({ 'infrahq.com/provider': name });
    expect(metadata.annotations).toMatchObject({ 'infrahq.com/issuer': 'https://127.0.0.1:1/idp' });
    expect(metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'Provider', name })]);

    // Creating it again is refused by the hub, and leaves the Secret as it was.
    const again = await request(`${api}/providers`, sessions[admin], {
      body: { ...body, spec: { ...body.spec, issuer: 'https://127.0.0.1:2/attacker' }, clientSecret: 'overwritten' },
    });
    expect(again.status).toBe(409);
    expect(again.json<{ reason: string }>().reason).toBe('AlreadyExists');
    const after = await kubectlOk('hub', ['get', 'secret', '-n', ns, ref.name, '-o', `jsonpath={.data.${ref.key}}`]);
    expect(Buffer.from(after, 'base64').toString()).toBe('s3cr3t-value');
    expect(await kubectlOk('hub', ['get', 'provider', name, '-o', 'jsonpath={.spec.issuer}'])).toBe('https://127.0.0.1:1/idp');
  });

  it("refuses Secret references to the operator's own Secrets, through the API and from kubectl", async () => {
    const name = uniqueName('evil');
    const spec = { kind: 'oidc', issuer: 'https://127.0.0.1:1/idp', clientID: 'infra', clientSecretRef: { name: 'infra-signing-keys', key: 'keys' } };
    const created = await request(`${api}/providers`, sessions[admin], {
      body: { apiVersion: 'infrahq.com/v1alpha1', kind: 'Provider', metadata: { name, labels: { test: ns } }, spec },
    });
    expect(created.status).toBe(422);
    expect(created.json<{ message: string }>().message).toBe(
      `Provider is invalid: spec.clientSecretRef.name: Provider ${name} may not use Secret infra-signing-keys: Secrets named infra-* belong to the operator; put the value in a Secret of your own, e.g. ${name}-client-secret`,
    );
    const userPatch = await request(`${api}/users/${admin.split('@')[0]}`, sessions[admin], {
      method: 'PATCH',
      headers: { 'content-type': 'application/merge-patch+json' },
      body: { spec: { passwordSecretRef: { name: 'infra-password-someone-else', key: 'hash' } } },
    });
    expect(userPatch.status).toBe(422);
    expect(userPatch.json<{ message: string }>().message).toContain('may not use Secret infra-password-someone-else');

    // A hub admin's kubectl bypasses the API: the operator still refuses to read it, and says so.
    await applyHub([{ apiVersion: 'infrahq.com/v1alpha1', kind: 'Provider', metadata: { name, labels: { test: ns } }, spec }]);
    await eventually(async () => {
      const reason = await kubectlOk('hub', ['get', 'provider', name, '-o', 'jsonpath={.status.conditions[?(@.type=="ClientSecretFound")].reason}']);
      expect(reason).toBe('SecretNotAllowed');
    });
  });

  it('patches a Group with optimistic concurrency, and deletes it', async () => {
    const created = await request(`${api}/groups`, sessions[admin], {
      body: { apiVersion: 'infrahq.com/v1alpha1', kind: 'Group', metadata: { name: group, labels: { test: ns } }, spec: { members: [viewer] } },
    });
    expect(created.status, created.text).toBe(201);
    const stale = created.json<{ metadata: { resourceVersion: string } }>().metadata.resourceVersion;
    // The group controller writes status (memberCount), which moves the resourceVersion on.
    await eventually(async () => expect(await kubectlOk('hub', ['get', 'group', group, '-o', 'jsonpath={.status.memberCount}'])).toBe('1'));
    const rv = await kubectlOk('hub', ['get', 'group', group, '-o', 'jsonpath={.metadata.resourceVersion}']);
    const patch = (body: object, contentType = 'application/merge-patch+json') =>
      request(`${api}/groups/${group}`, sessions[admin], { method: 'PATCH', body, headers: { 'content-type': contentType } });
    const ok = await patch({ spec: { members: [viewer, nobody] }, metadata: { resourceVersion: rv } });
    expect(ok.status, ok.text).toBe(200);
    expect(ok.json<{ spec: { members: string[] } }>().spec.members).toEqual([viewer, nobody]);
    const conflict = await patch({ spec: { members: [] }, metadata: { resourceVersion: stale } });
    expect(conflict.status).toBe(409);
    expect((await patch({ spec: { members: [] } }, 'application/json')).status).toBe(415);
    expect((await patch({ status: { memberCount: 9 } })).status).toBe(422);

    const deleted = await request(`${api}/groups/${group}`, sessions[admin], { method: 'DELETE' });
    expect(deleted.json()).toMatchObject({ kind: 'Status', status: 'Success' });
    expect((await request(`${api}/groups/${group}`, sessions[viewer])).status).toBe(404);
    expect((await request(`${api}/groups/${group}`, sessions[admin], { method: 'DELETE' })).status).toBe(404);
  });

  it('writes an audit line for every change, with who made it', async () => {
    // A line reaches the log a moment after the answer: the program batches its stdout writes (ADR 24).
    await eventually(() => {
      const audit = operator.logs.map((line) => JSON.parse(line) as { audit?: boolean; action?: string; by?: string }).filter((l) => l.audit && l.by === admin);
      expect(audit.map((l) => l.action)).toEqual(
        expect.arrayContaining(['grant.created', 'provider.created', 'group.created', 'group.patched', 'group.deleted']),
      );
    });
  });
});
