// Who may do what through the management API: its express router served on loopback
// with a fake authenticator (the bearer token is the caller's email), a fake hub cache,
// and a fake hub API server that records every write the operator forwards to it.
import { KubeConfig } from '@kubernetes/client-node';
import express from 'express';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resources, type Provider } from '../../api/v1alpha1/types.ts';
import { createLogger } from '../../lib/log.ts';
import { destination, fakeHub, grant, group, user, type FakeHub } from '../../test/fake-hub.ts';
import type { FakeInformer } from '../../test/fake-informer.ts';
import { resolveIdentity } from '../access.ts';
import { ConnectorIdentities } from '../connector-identity.ts';
import type { Authenticator } from '../http/caller.ts';
import { createdByAnnotation, managementAPI } from './api.ts';

const apiVersion = 'infrahq.com/v1alpha1';
const base = `/apis/${apiVersion}`;
const namespace = 'infra-system';
const plurals = ['grants', 'users', 'groups', 'providers', 'destinations'] as const;
type Plural = (typeof plurals)[number];
const kindOf = Object.fromEntries(Object.values(resources).map((r) => [r.plural, r.kind])) as Record<Plural, string>;
const reads = ['list', 'get'] as const;
const writes = ['create', 'patch', 'delete'] as const;
type Verb = (typeof reads)[number] | (typeof writes)[number];

const people = {
  admin: 'admin@example.com',
  groupAdmin: 'ops@example.com',
  viewer: 'viewer@example.com',
  bootstrap: 'boot@example.com',
  destinationAdmin: 'prod-admin@example.com',
  expiredAdmin: 'former@example.com',
  passwordPending: 'pending@example.com',
  outsider: 'outsider@example.com',
};
const bootstrapAdmins = ['Boot@Example.com'];
const clientSecretValue = 'client-secret-do-not-echo-4f9a';

const provider = (name: string, secretRef = { name: `${name}-client`, key: 'secret' }): Provider => ({
  apiVersion,
  kind: 'Provider',
  metadata: { name, generation: 1 },
  spec: { kind: 'oidc', issuer: 'https://idp.example.com', clientID: 'infra', clientSecretRef: secretRef },
});

/** An object of each kind to get, patch and delete, besides the people and their Grants. */
function world(): FakeHub {
  const target = (plural: Plural, name: string) => {
    switch (plural) {
      case 'grants':
        return grant(name, { user: 'someone@example.com', role: 'view', resource: 'prod' });
      case 'users':
        return user(name, `${name}@example.com`);
      case 'groups':
        return group(name, []);
      case 'providers':
        return provider(name);
      case 'destinations':
        return destination(name);
    }
  };
  const objects = Object.fromEntries(plurals.map((p) => [p, [target(p, `${p}-target`), target(p, `${p}-doomed`)]])) as Record<Plural, never[]>;
  return fakeHub({
    ...objects,
    users: [
      ...objects.users,
      ...Object.entries(people).map(([name, email]) =>
        user(name.toLowerCase(), email, name === 'passwordPending' ? { passwordChangeRequired: true } : undefined),
      ),
    ],
    groups: [...objects.groups, group('infra-admins', [people.groupAdmin]), group('auditors', [people.viewer])],
    grants: [
      ...objects.grants,
      grant('admin', { user: people.admin, role: 'admin', resource: 'infra' }),
      grant('admin-also-views', { user: people.admin, role: 'view', resource: 'infra' }),
      grant('ops', { group: 'infra-admins', role: 'admin', resource: 'infra' }),
      grant('auditors', { group: 'auditors', role: 'view', resource: 'infra' }),
      grant('prod-admin', { user: people.destinationAdmin, role: 'admin', resource: 'prod' }),
      grant('former', { user: people.expiredAdmin, role: 'admin', resource: 'infra', expiresAt: '2020-01-01T00:00:00Z' }),
      grant('pending', { user: people.passwordPending, role: 'admin', resource: 'infra' }),
    ],
  });
}

interface Recorded {
  method: string;
  path: string;
  body: string;
}

/** The hub's API server, as far as the management API uses it: discovery, and writes that reach the cache. */
function startHubAPI(fake: FakeHub): Promise<{ server: Server; url: string; writes: Recorded[]; secrets: Map<string, Record<string, unknown>> }> {
  const recordedWrites: Recorded[] = [];
  const secrets = new Map<string, Record<string, unknown>>();
  let version = 100;
  const send = (res: import('node:http').ServerResponse, code: number, body: unknown) => {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const path = new URL(req.url ?? '/', 'http://hub').pathname;
      const method = req.method ?? 'GET';
      if (method !== 'GET') recordedWrites.push({ method, path, body });
      if (method === 'GET' && path === base) {
        return send(res, 200, {
          kind: 'APIResourceList',
          apiVersion: 'v1',
          groupVersion: apiVersion,
          resources: Object.values(resources).map((r) => ({
            name: r.plural,
            singularName: r.kind.toLowerCase(),
            namespaced: false,
            kind: r.kind,
            verbs: ['get', 'list', 'create', 'patch', 'delete'],
          })),
        });
      }
      if (method === 'GET' && path === '/api/v1') {
        return send(res, 200, {
          kind: 'APIResourceList',
          apiVersion: 'v1',
          groupVersion: 'v1',
          resources: [{ name: 'secrets', singularName: 'secret', namespaced: true, kind: 'Secret', verbs: ['get', 'patch'] }],
        });
      }
      const secret = new RegExp(`^/api/v1/namespaces/${namespace}/secrets/([^/]+)$`).exec(path);
      if (secret && method === 'PATCH') {
        const object = JSON.parse(body) as Record<string, unknown>;
        secrets.set(secret[1]!, object);
        return send(res, 200, object);
      }
      const match = new RegExp(`^${base}/([a-z]+)(?:/([^/]+))?$`).exec(path);
      const informer = match
        ? (fake[match[1] as Plural] as unknown as FakeInformer<{ metadata: { name?: string; resourceVersion?: string } }> | undefined)
        : undefined;
      if (!match || !informer) return send(res, 404, { kind: 'Status', status: 'Failure', reason: 'NotFound', code: 404 });
      const name = match[2];
      if (method === 'POST') {
        const object = JSON.parse(body) as { metadata: { name: string; resourceVersion?: string } };
        if (informer.get(object.metadata.name))
          return send(res, 409, {
            kind: 'Status',
            status: 'Failure',
            reason: 'AlreadyExists',
            message: `${match[1]} "${object.metadata.name}" already exists`,
            code: 409,
          });
        object.metadata.resourceVersion = String(++version);
        informer.set(object);
        return send(res, 201, object);
      }
      const existing = name ? informer.get(name) : undefined;
      if (!existing) return send(res, 404, { kind: 'Status', status: 'Failure', reason: 'NotFound', code: 404 });
      if (method === 'PATCH') {
        const patch = JSON.parse(body) as { spec?: Record<string, unknown> };
        const patched = {
          ...existing,
          spec: { ...(existing as { spec?: object }).spec, ...patch.spec },
          metadata: { ...existing.metadata, resourceVersion: String(++version) },
        };
        informer.set(patched);
        return send(res, 200, patched);
      }
      if (method === 'DELETE') {
        informer.remove(name!);
        return send(res, 200, { kind: 'Status', apiVersion: 'v1', status: 'Success' });
      }
      send(res, 405, { kind: 'Status', status: 'Failure', reason: 'MethodNotAllowed', code: 405 });
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, writes: recordedWrites, secrets }),
    ),
  );
}

const listen = (server: Server) =>
  new Promise<string>((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
const close = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));

let fake: FakeHub;
let hubAPI: Awaited<ReturnType<typeof startHubAPI>>;
let operator: Server;
let operatorURL: string;
/** Every line the management API logged, audit and otherwise. */
let logLines: string[];

beforeEach(async () => {
  fake = world();
  hubAPI = await startHubAPI(fake);
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    // Plain HTTP on loopback: client-node allows it only with skipTLSVerify.
    clusters: [{ name: 'hub', server: hubAPI.url, skipTLSVerify: true }],
    users: [{ name: 'operator', token: 'operator-token' }],
    contexts: [{ name: 'hub', cluster: 'hub', user: 'operator' }],
    currentContext: 'hub',
  });
  logLines = [];
  const lines = new Writable({ write: (chunk: Buffer, _encoding, done) => void (logLines.push(chunk.toString()), done()) });
  const authenticate: Authenticator = async (req: IncomingMessage) => {
    const match = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
    return match ? { identity: resolveIdentity(fake.hub, match[1]!) } : undefined;
  };
  const app = express();
  app.use(
    managementAPI(
      {
        hub: fake.hub,
        kubeConfig,
        namespace,
        bootstrapAdmins,
        connectors: new ConnectorIdentities(kubeConfig, namespace, { server: hubAPI.url }),
        bootstrapLifetimeMs: 3_600_000,
        audit: createLogger('audit', 'info', lines),
        logger: createLogger('operator', 'info', lines),
      },
      authenticate,
    ),
  );
  operator = createServer(app);
  operatorURL = await listen(operator);
});

afterEach(async () => {
  operator.closeAllConnections();
  hubAPI.server.closeAllConnections();
  await Promise.all([close(operator), close(hubAPI.server)]);
});

interface Answer {
  status: number;
  body: {
    kind?: string;
    reason?: string;
    message?: string;
    metadata?: { name?: string; annotations?: Record<string, string> };
    spec?: Record<string, unknown>;
    items?: unknown[];
  };
  text: string;
}

async function call(as: string | undefined, method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<Answer> {
  const res = await fetch(`${operatorURL}${path}`, {
    method,
    headers: { ...(as ? { authorization: `Bearer ${as}` } : {}), ...(body !== undefined ? { 'content-type': contentType } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: JSON.parse(text) as Answer['body'], text };
}

function newObject(plural: Plural, name: string): unknown {
  const spec = {
    grants: { user: 'new@example.com', role: 'view', resource: 'prod' },
    users: { email: 'new@example.com' },
    groups: { members: [] },
    providers: { kind: 'oidc', issuer: 'https://idp.example.com', clientID: 'infra', clientSecretRef: { name: 'new-client', key: 'secret' } },
    destinations: { kind: 'kubernetes' },
  }[plural];
  return { apiVersion, kind: kindOf[plural], metadata: { name }, spec };
}

/** One request of each verb on a kind, as `as`. */
function request(as: string | undefined, verb: Verb, plural: Plural): Promise<Answer> {
  switch (verb) {
    case 'list':
      return call(as, 'GET', `${base}/${plural}`);
    case 'get':
      return call(as, 'GET', `${base}/${plural}/${plural}-target`);
    case 'create':
      return call(as, 'POST', `${base}/${plural}`, newObject(plural, `${plural}-new`));
    case 'patch':
      return call(
        as,
        'PATCH',
        `${base}/${plural}/${plural}-target`,
        { spec: plural === 'groups' ? { members: ['x@example.com'] } : {} },
        'application/merge-patch+json',
      );
    case 'delete':
      return call(as, 'DELETE', `${base}/${plural}/${plural}-doomed`);
  }
}

const table = (verbs: readonly Verb[]) => plurals.flatMap((plural) => verbs.map((verb) => [verb, plural] as const));

describe('an Infra viewer (a view Grant on infra, here through a built-in Group)', () => {
  it.each(table(reads))('may %s %s', async (verb, plural) => {
    const answer = await request(people.viewer, verb, plural);
    expect(answer.status, answer.text).toBe(200);
    if (verb === 'list') expect(answer.body.items!.length).toBeGreaterThan(0);
    else expect(answer.body.metadata?.name).toBe(`${plural}-target`);
  });

  it.each(table(writes))('may not %s %s: 403, and nothing reaches the hub', async (verb, plural) => {
    const answer = await request(people.viewer, verb, plural);
    expect(answer.status).toBe(403);
    expect(answer.body).toMatchObject({ kind: 'Status', reason: 'Forbidden' });
    expect(answer.body.message).toBe(`${people.viewer} may not ${verb} ${plural}: that needs a Grant with role admin on resource infra`);
    expect(hubAPI.writes).toEqual([]);
  });

  it("may not add a destination's connector identity (`infra destinations add`): 403, and nothing reaches the hub", async () => {
    for (const as of [people.viewer, people.outsider]) {
      const answer = await call(as, 'POST', `${base}/destinations/newcomer/bootstrap`, {});
      expect(answer.status).toBe(403);
      expect(hubAPI.writes).toEqual([]);
    }
  });
});

describe('an Infra admin (an admin Grant on infra)', () => {
  it.each(table([...reads, ...writes]))('may %s %s', async (verb, plural) => {
    const answer = await request(people.admin, verb, plural);
    expect(answer.status, answer.text).toBe(verb === 'create' ? 201 : 200);
    const written = hubAPI.writes.filter((w) => w.path.startsWith(`${base}/${plural}`));
    expect(written.map((w) => w.method)).toEqual({ list: [], get: [], create: ['POST'], patch: ['PATCH'], delete: ['DELETE'] }[verb]);
  });

  it('is admin through a Group with an admin Grant on infra too', async () => {
    expect((await request(people.groupAdmin, 'delete', 'grants')).status).toBe(200);
  });

  it('is recorded as the creator, whatever the body claims', async () => {
    const body = newObject('grants', 'claimed') as { metadata: Record<string, unknown> };
    body.metadata['annotations'] = { [createdByAnnotation]: 'someone-else@example.com', note: 'kept' };
    const answer = await call(people.admin, 'POST', `${base}/grants`, body);
    expect(answer.status).toBe(201);
    expect(answer.body.metadata!.annotations).toEqual({ [createdByAnnotation]: people.admin, note: 'kept' });
    expect(logLines.some((l) => l.includes('"action":"grant.created"') && l.includes(`"by":"${people.admin}"`))).toBe(true);
  });
});

describe('a bootstrap admin', () => {
  it('is admin without any Grant, whatever the case of the configured email', async () => {
    for (const verb of [...reads, ...writes]) expect((await request(people.bootstrap, verb, 'providers')).status, verb).toBe(verb === 'create' ? 201 : 200);
  });
});

describe('someone who is not an Infra admin or viewer', () => {
  const outsiders = [
    ['with no Grant at all', people.outsider],
    ['with admin on a destination only', people.destinationAdmin],
    ['whose admin Grant on infra has expired', people.expiredAdmin],
  ] as const;

  for (const [who, email] of outsiders) {
    it.each(table([...reads, ...writes]))(`${who} may not %s %s: 403, saying what would allow it`, async (verb, plural) => {
      const answer = await request(email, verb, plural);
      expect(answer.status).toBe(403);
      const needed = verb === 'get' || verb === 'list' ? 'view or admin' : 'admin';
      expect(answer.body).toMatchObject({
        kind: 'Status',
        reason: 'Forbidden',
        message: `${email} may not ${verb} ${plural}: that needs a Grant with role ${needed} on resource infra`,
      });
      expect(answer.text).not.toContain(`${plural}-target"`);
      expect(hubAPI.writes).toEqual([]);
    });
  }

  it('who must still change a one-time password is refused even with an admin Grant', async () => {
    for (const verb of [...reads, ...writes]) {
      const answer = await request(people.passwordPending, verb, 'grants');
      expect(answer.status, verb).toBe(403);
      expect(answer.body.message).toMatch(/must change your one-time password first/);
    }
    expect(hubAPI.writes).toEqual([]);
  });
});

describe('an unauthenticated caller', () => {
  it.each(table([...reads, ...writes]))('may not %s %s: 401, the same answer every time', async (verb, plural) => {
    const answer = await request(undefined, verb, plural);
    expect(answer.status).toBe(401);
    expect(answer.body).toMatchObject({ kind: 'Status', reason: 'Unauthorized', message: 'authentication failed: log in again (infra login)' });
    expect(hubAPI.writes).toEqual([]);
  });

  it('gets 404 for a kind the API does not serve, and the resource list without a session', async () => {
    expect((await call(undefined, 'GET', `${base}/secrets`)).status).toBe(404);
    const discovery = await call(undefined, 'GET', base);
    expect(discovery.status).toBe(200);
    expect(discovery.text).not.toContain('-target');
  });
});

describe('secrets', () => {
  const providerWithSecret = {
    apiVersion,
    kind: 'Provider',
    metadata: { name: 'okta' },
    spec: { kind: 'oidc', issuer: 'https://idp.example.com', clientID: 'infra' },
    clientSecret: clientSecretValue,
  };

  it("a Provider's client secret goes to a Secret of its own and is never echoed, listed or logged", async () => {
    const created = await call(people.admin, 'POST', `${base}/providers`, providerWithSecret);
    expect(created.status, created.text).toBe(201);
    expect(created.body.spec!['clientSecretRef']).toEqual({ name: 'infra-provider-okta', key: 'clientSecret' });
    const stored = hubAPI.secrets.get('infra-provider-okta') as { data: Record<string, string> };
    expect(Buffer.from(stored.data['clientSecret']!, 'base64').toString()).toBe(clientSecretValue);
    const seen = [
      created.text,
      (await call(people.admin, 'GET', `${base}/providers/okta`)).text,
      (await call(people.viewer, 'GET', `${base}/providers`)).text,
      ...logLines,
    ];
    for (const text of seen) expect(text).not.toContain(clientSecretValue);
    expect(hubAPI.writes.filter((w) => w.path.startsWith(base)).every((w) => !w.body.includes(clientSecretValue))).toBe(true);
  });

  it("a viewer's attempt stores no Secret and echoes nothing", async () => {
    const answer = await call(people.viewer, 'POST', `${base}/providers`, providerWithSecret);
    expect(answer.status).toBe(403);
    expect(answer.text).not.toContain(clientSecretValue);
    expect(hubAPI.writes).toEqual([]);
  });

  it('a client secret on any other kind is refused without echoing it', async () => {
    const answer = await call(people.admin, 'POST', `${base}/users`, { ...(newObject('users', 'carl') as object), clientSecret: clientSecretValue });
    expect(answer.status).toBe(422);
    expect(answer.text).not.toContain(clientSecretValue);
    expect(hubAPI.writes).toEqual([]);
  });

  it("not even an admin may point a Provider or User at one of the operator's own Secrets", async () => {
    const create = await call(people.admin, 'POST', `${base}/providers`, {
      apiVersion,
      kind: 'Provider',
      metadata: { name: 'evil' },
      spec: { kind: 'oidc', issuer: 'https://evil.example.com', clientID: 'x', clientSecretRef: { name: 'infra-signing-key', key: 'key' } },
    });
    expect(create.status).toBe(422);
    expect(create.body.message).toMatch(/spec.clientSecretRef.name: Provider evil may not use Secret infra-signing-key/);
    const patch = await call(
      people.admin,
      'PATCH',
      `${base}/users/users-target`,
      { spec: { passwordSecretRef: { name: 'infra-password-admin', key: 'hash' } } },
      'application/merge-patch+json',
    );
    expect(patch.status).toBe(422);
    expect(patch.body.message).toMatch(/spec.passwordSecretRef.name: User users-target may not use Secret infra-password-admin/);
    expect(hubAPI.writes).toEqual([]);
  });
});
