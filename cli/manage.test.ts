// The management commands (grants, users, groups, destinations, providers) through the
// real argument parser, against a fake server that records each request.
import { CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import { ApiStatusError } from './errors.ts';
import { fake, type Handler, type RequestHandler } from './testing.ts';

const api = '/apis/infrahq.com/v1alpha1';
const grant = (name: string, spec: Record<string, string>, status?: object) => ({ metadata: { name }, spec, ...(status ? { status } : {}) });
const grants = [
  grant('g1', { group: 'Everyone', role: 'view', resource: 'development' }),
  grant('g2', { user: 'mike@infrahq.com', role: 'edit', resource: 'development.infrahq' }),
  grant('g3', { user: 'jeff@infrahq.com', role: 'view', resource: 'development' }),
  grant('g4', { group: 'Engineering', role: 'edit', resource: 'development.infrahq' }),
  grant('g5', { user: 'jeff@infrahq.com', role: 'admin', resource: 'production' }),
];

/** Answers GETs of collections from `objects`, echoes writes back as the created object. */
function server(
  objects: Record<string, unknown[]>,
  write: RequestHandler = (_m, _p, body) => ({ metadata: { name: 'created' }, ...(body as object) }),
): RequestHandler {
  return (method, path, body) => {
    const plural = path.slice(api.length + 1);
    if (method === 'GET' && objects[plural]) return { items: objects[plural] };
    return write(method, path, body);
  };
}

describe('infra grants', () => {
  it('lists users, then groups, as in the product documents', async () => {
    const f = fake({ request: server({ grants }) });
    await f.run('grants', 'list');
    expect(f.out.join('\n')).toBe(
      [
        '  USER (3)          ROLE   DESTINATION',
        '  jeff@infrahq.com  view   development',
        '  jeff@infrahq.com  admin  production',
        '  mike@infrahq.com  edit   development.infrahq',
        '',
        '  GROUP (2)    ROLE  DESTINATION',
        '  Engineering  edit  development.infrahq',
        '  Everyone     view  development',
      ].join('\n'),
    );
    expect(f.requests).toEqual([{ method: 'GET', path: `${api}/grants`, body: undefined, contentType: undefined }]);
  });

  it('filters by user, group or destination, shows expiry when any Grant has one, and prints JSON', async () => {
    const soon = new Date(Date.now() + 3_600_000 + 30_000).toISOString();
    const timed = [
      ...grants,
      grant('g6', { user: 'suzie@infrahq.com', role: 'admin', resource: 'production', expiresAt: soon }),
      grant('g7', { group: 'Oncall', role: 'edit', resource: 'production', expiresAt: '2020-01-01T00:00:00Z' }, { expired: true }),
    ];
    const f = fake({ request: server({ grants: timed }) });
    await f.run('grants', 'list', '-d', 'production');
    expect(f.out[0]).toBe(
      [
        '  USER (2)           ROLE   DESTINATION  EXPIRES',
        '  jeff@infrahq.com   admin  production   —',
        '  suzie@infrahq.com  admin  production   in 1h',
        '',
        '  GROUP (1)  ROLE  DESTINATION  EXPIRES',
        '  Oncall     edit  production   expired',
      ].join('\n'),
    );
    await f.run('grants', 'list', '--user', 'JEFF@infrahq.com', '-o', 'json');
    expect((JSON.parse(f.out[1]!) as { metadata: { name: string } }[]).map((g) => g.metadata.name)).toEqual(['g3', 'g5']);
    await f.run('grants', 'list', '-g', 'Nobody');
    expect(f.out[2]).toBe('No Grants yet: add one with `infra grants add`.');
    await expect(f.run('grants', 'list', '--user', 'a@b.c', '-g', 'x')).rejects.toThrow(CommanderError);
  });

  describe('add --wait', () => {
    const spec = { group: 'Oncall', role: 'edit', resource: 'production' };
    const synced = (status: 'True' | 'False', reason: string, message: string) => ({
      metadata: { name: 'created', generation: 1 },
      spec,
      status: { conditions: [{ type: 'Synced', status, reason, message, observedGeneration: 1, lastTransitionTime: '2026-01-01T00:00:00Z' }] },
    });
    /** Creates the Grant; its GETs answer each of `states` in turn, then the last one again. */
    const grantServer =
      (...states: object[]): RequestHandler =>
      (method, path, body) => {
        if (method === 'POST') return { metadata: { name: 'created', generation: 1 }, ...(body as object) };
        if (method === 'GET' && path === `${api}/grants/created`) return states.length > 1 ? states.shift() : states[0];
        throw new Error(`unexpected ${method} ${path}`);
      };

    it('returns once the destination reports the Grant bound', async () => {
      const f = fake({
        request: grantServer(
          { metadata: { name: 'created', generation: 1 }, spec },
          synced('True', 'Bound', 'bound by ClusterRoleBinding infra:edit in production'),
        ),
      });
      await f.run('grants', 'add', '-g', 'Oncall', 'production', '--role', 'edit', '--wait');
      expect(f.requests.map((r) => `${r.method} ${r.path}`)).toEqual([`POST ${api}/grants`, `GET ${api}/grants/created`, `GET ${api}/grants/created`]);
      expect(f.out[1]).toBe('Bound in production: bound by ClusterRoleBinding infra:edit in production');
    });

    it("fails with the Grant's own reason when it is not bound in time", async () => {
      const f = fake({ request: grantServer(synced('False', 'RoleNotFound', 'ClusterRole edit does not exist in destination production')) });
      await expect(f.run('grants', 'add', '-g', 'Oncall', 'production', '--role', 'edit', '--wait', '1s')).rejects.toThrow(
        'Grant created is not bound after 1s: RoleNotFound: ClusterRole edit does not exist in destination production',
      );
    });

    it('says when no connector has reported the Grant, and refuses a --wait that is not a duration', async () => {
      const f = fake({ request: grantServer({ metadata: { name: 'created', generation: 1 }, spec }) });
      await expect(f.run('grants', 'add', '-g', 'Oncall', 'production', '--role', 'edit', '--wait', '1s')).rejects.toThrow(
        'Grant created is not bound after 1s: the connector of production has not reported it',
      );
      await expect(fake({ request: grantServer() }).run('grants', 'add', '-g', 'Oncall', 'production', '--role', 'edit', '--wait', 'soon')).rejects.toThrow(
        '--wait soon is not a duration',
      );
    });

    it('does not wait for a Grant on Infra itself: no connector binds it', async () => {
      const f = fake({ request: grantServer() });
      await f.run('grants', 'add', '-g', 'Admins', 'infra', '--role', 'admin', '--wait');
      expect(f.requests.map((r) => r.method)).toEqual(['POST']);
    });
  });

  it('adds the Grant its YAML would be, for a user or a group, with --for as expiresAt', async () => {
    const f = fake({ request: server({}) });
    await f.run('grants', 'add', '-g', 'Engineering', 'production.web', '--role', 'edit');
    await f.run('grants', 'add', 'suzie@infrahq.com', 'production', '--role', 'admin', '--for', '1h');
    expect(f.requests[0]).toEqual({
      method: 'POST',
      path: `${api}/grants`,
      contentType: undefined,
      body: { apiVersion: 'infrahq.com/v1alpha1', kind: 'Grant', spec: { group: 'Engineering', role: 'edit', resource: 'production.web' } },
    });
    const timed = f.requests[1]!.body as { spec: { user: string; expiresAt: string } };
    expect(timed.spec).toMatchObject({ user: 'suzie@infrahq.com', role: 'admin', resource: 'production' });
    expect(timed.spec.expiresAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(Date.parse(timed.spec.expiresAt) - Date.now()).toBeGreaterThan(3_590_000);
    expect(f.out).toEqual([
      'group Engineering has role edit on production.web (Grant created)',
      `suzie@infrahq.com has role admin on production until ${timed.spec.expiresAt} (Grant created)`,
    ]);
  });

  it('says how to write the arguments when they are wrong', async () => {
    const f = fake({ request: server({}) });
    await expect(f.run('grants', 'add', 'Engineering', 'production', '--role', 'edit')).rejects.toThrow(
      '"Engineering" is not an email; for a group use -g Engineering',
    );
    await expect(f.run('grants', 'add', '-g', 'Engineering', 'a@b.c', 'production', '--role', 'edit')).rejects.toThrow(
      'with -g Engineering, name only the resource',
    );
    await expect(f.run('grants', 'add', 'production', '--role', 'edit')).rejects.toThrow(/name a user and a resource/);
    await expect(f.run('grants', 'add', 'a@b.c', 'production', '--role', 'edit', '--for', '0m')).rejects.toThrow('--for 0m is not a duration');
    await expect(f.run('grants', 'add', 'a@b.c', 'production')).rejects.toThrow(CommanderError);
    expect(f.requests).toEqual([]);
  });

  it('removes every matching Grant (one role with --role), and says so when none matches', async () => {
    const f = fake({ request: server({ grants }, () => ({ kind: 'Status', status: 'Success' })) });
    await f.run('grants', 'remove', 'jeff@infrahq.com', 'development');
    expect(f.requests.filter((r) => r.method === 'DELETE').map((r) => r.path)).toEqual([`${api}/grants/g3`]);
    expect(f.out).toEqual(['jeff@infrahq.com no longer has role view on development (Grant g3 deleted)']);
    await expect(f.run('grants', 'remove', 'jeff@infrahq.com', 'development', '--role', 'admin')).rejects.toThrow(
      'jeff@infrahq.com has no Grant with role admin on development; see `infra grants list`',
    );
    await f.run('grants', 'rm', '-g', 'Engineering', 'development.infrahq', '--role', 'edit');
    expect(f.requests.filter((r) => r.method === 'DELETE').map((r) => r.path)).toEqual([`${api}/grants/g3`, `${api}/grants/g4`]);
  });

  it("passes the server's refusal through as one line", async () => {
    const f = fake({
      request: () =>
        Promise.reject(
          new ApiStatusError(403, 'Forbidden', 'alice@example.com may not list grants: that needs a Grant with role view or admin on resource infra'),
        ),
    });
    await expect(f.run('grants', 'list')).rejects.toThrow('may not list grants');
  });
});

describe('infra users, groups, destinations, providers', () => {
  const users = [
    {
      metadata: { name: 'carl' },
      spec: { email: 'carl@example.com', passwordSecretRef: { name: 's', key: 'k' } },
      status: { lastLoginAt: new Date(Date.now() - 300_000).toISOString() },
    },
    { metadata: { name: 'ann' }, spec: { email: 'ann@example.com' }, status: { provider: 'okta', groups: ['Engineering', 'Oncall'] } },
  ];

  it('lists users with provider, groups and last login', async () => {
    const f = fake({ request: server({ users }) });
    await f.run('users', 'list');
    expect(f.out[0]).toBe(
      [
        '  EMAIL (2)         PROVIDER  GROUPS               LAST LOGIN',
        '  ann@example.com   okta      Engineering, Oncall  —',
        '  carl@example.com  infra     —                    5m ago',
      ].join('\n'),
    );
  });

  it('removes a user by email, and refuses an unknown one', async () => {
    const f = fake({ request: server({ users }, () => ({ kind: 'Status' })) });
    await f.run('users', 'remove', 'CARL@example.com');
    expect(f.requests.at(-1)).toMatchObject({ method: 'DELETE', path: `${api}/users/carl` });
    await expect(f.run('users', 'remove', 'zed@example.com')).rejects.toThrow('no user zed@example.com; see `infra users list`');
    await expect(f.run('users', 'add', 'not-an-email')).rejects.toThrow('"not-an-email" is not an email address');
    await expect(f.run('users', 'add', 'ann@example.com')).rejects.toThrow('ann@example.com already exists (User ann)');
  });

  it('adds a user with a one-time password printed alone on stdout, and resets one', async () => {
    const handler: Handler = (kind, spec) => {
      expect(kind).toBe('PasswordReset');
      return { user: (spec as { user: string }).user, oneTimePassword: 'abcde-fghij-kmnop-qrstu' };
    };
    const f = fake({ request: server({ users }), handler });
    await f.run('users', 'add', 'dora@example.com', '--password');
    expect(f.requests.at(-1)).toMatchObject({ method: 'POST', path: `${api}/users`, body: { spec: { email: 'dora@example.com' } } });
    expect(f.calls.map((c) => [c.kind, c.spec])).toEqual([['PasswordReset', { user: 'dora@example.com' }]]);
    expect(f.out).toEqual(['abcde-fghij-kmnop-qrstu']);
    expect(f.err.at(-1)).toContain('One-time password for dora@example.com (shown once');
    await f.run('users', 'reset-password', 'carl@example.com');
    expect(f.calls.at(-1)?.spec).toEqual({ user: 'carl@example.com' });
    expect(f.out).toHaveLength(2);
    await f.run('users', 'add', 'erin@example.com');
    expect(f.calls).toHaveLength(2);
  });

  it('changes group members with a merge patch, retrying once when someone else changed the group', async () => {
    let conflicts = 1;
    const f = fake({
      request: (method, path) => {
        if (method === 'GET') return { metadata: { name: 'Oncall', resourceVersion: conflicts > 0 ? '1' : '2' }, spec: { members: ['ann@example.com'] } };
        if (conflicts-- > 0) throw new ApiStatusError(409, 'Conflict', 'the object has been modified');
        return { metadata: { name: path.split('/').at(-1) }, spec: {} };
      },
    });
    await f.run('groups', 'adduser', 'Oncall', 'carl@example.com');
    const patches = f.requests.filter((r) => r.method === 'PATCH');
    expect(patches.map((p) => [p.path, p.contentType, p.body])).toEqual([
      [
        `${api}/groups/Oncall`,
        'application/merge-patch+json',
        { spec: { members: ['ann@example.com', 'carl@example.com'] }, metadata: { resourceVersion: '1' } },
      ],
      [
        `${api}/groups/Oncall`,
        'application/merge-patch+json',
        { spec: { members: ['ann@example.com', 'carl@example.com'] }, metadata: { resourceVersion: '2' } },
      ],
    ]);
    expect(f.out).toEqual(['carl@example.com added to Oncall']);
    await f.run('groups', 'adduser', 'Oncall', 'ANN@example.com');
    expect(f.out.at(-1)).toBe('ANN@example.com is already a member of Oncall');
    await expect(f.run('groups', 'removeuser', 'Oncall', 'zed@example.com')).rejects.toThrow('zed@example.com is not a member of Oncall');
  });

  it('lists groups and destinations', async () => {
    const f = fake({
      request: server({
        groups: [{ metadata: { name: 'Oncall' }, spec: { members: ['ann@example.com', 'carl@example.com'] } }],
        destinations: [
          {
            metadata: { name: 'production' },
            spec: { kind: 'kubernetes', url: 'https://prod:8443' },
            status: { connected: true, kubernetesVersion: 'v1.36.3', lastSeenAt: new Date(Date.now() - 20_000).toISOString() },
          },
        ],
      }),
    });
    await f.run('groups', 'list');
    await f.run('destinations', 'list');
    expect(f.out).toEqual([
      '  NAME (1)  MEMBERS\n  Oncall    ann@example.com, carl@example.com',
      '  NAME (1)    CONNECTED  KUBERNETES  LAST SEEN  URL\n  production  yes        v1.36.3     20s ago    https://prod:8443',
    ]);
  });

  it('adds a destination: asks for a bootstrap credential and prints it, the Secret that holds it and the Helm values that install the connector', async () => {
    const bootstrap = {
      kind: 'DestinationBootstrap',
      destination: 'staging',
      bootstrapToken: `infra-bootstrap.staging.${'x'.repeat(43)}`,
      expiresAt: '2026-01-01T01:00:00Z',
    };
    const f = fake({ request: server({}, () => bootstrap) });
    await f.run('destinations', 'add', 'staging', '--expires-in', '2h');
    expect(f.requests).toEqual([{ method: 'POST', path: `${api}/destinations/staging/bootstrap`, body: { expiresIn: '2h' }, contentType: undefined }]);
    const printed = f.out.join('\n');
    expect(printed).toContain(`good once, until 2026-01-01T01:00:00Z:\n\n  ${bootstrap.bootstrapToken}\n`);
    expect(printed).toContain(`$ kubectl -n infra-system create secret generic infra-connector-bootstrap --from-literal=token=${bootstrap.bootstrapToken}\n`);
    expect(printed).not.toContain('bootstrapToken:');
    expect(printed).toContain('      destination: staging');
    await f.run('destinations', 'add', 'staging', '-o', 'json');
    expect(JSON.parse(f.out.at(-1)!)).toEqual(bootstrap);
  });

  it('adds a provider with its client secret from standard input, never from a flag', async () => {
    const f = fake({ request: server({}), stdin: 's3cret\n' });
    await f.run('providers', 'add', 'okta', '--kind', 'okta', '--issuer', 'https://acme.okta.com', '--client-id', '0oa', '--client-secret-stdin');
    expect(f.requests[0]!.body).toEqual({
      apiVersion: 'infrahq.com/v1alpha1',
      kind: 'Provider',
      metadata: { name: 'okta' },
      spec: { kind: 'okta', issuer: 'https://acme.okta.com', clientID: '0oa' },
      clientSecret: 's3cret',
    });
    const none = fake({ request: server({}) });
    await expect(none.run('providers', 'add', 'dex', '--kind', 'oidc', '--issuer', 'https://dex', '--client-id', 'infra')).rejects.toThrow(
      'give the client secret on standard input with --client-secret-stdin, or in $INFRA_PROVIDER_CLIENT_SECRET',
    );
    await expect(none.run('providers', 'add', 'dex', '--kind', 'saml', '--issuer', 'https://dex', '--client-id', 'infra')).rejects.toThrow(
      '--kind saml is not one of oidc, okta, google, azure',
    );
  });
});

describe('infra keys list and remove', () => {
  const keys = '/apis/auth.infrahq.com/v1alpha1/accesskeys';

  it("lists your keys, or another user's with --user, and revokes one by name", async () => {
    const items = [
      {
        name: 'ci-deploy',
        user: 'alice@example.com',
        expirationTimestamp: new Date(Date.now() + 2 * 86_400_000 + 60_000).toISOString(),
        lastUsedTimestamp: new Date(Date.now() - 90_000).toISOString(),
      },
    ];
    const f = fake({ request: (method) => (method === 'GET' ? { items } : { kind: 'Status', status: 'Success' }) });
    await f.run('keys', 'list');
    expect(f.out[0]).toBe('  NAME (1)   USER               EXPIRES  LAST USED\n  ci-deploy  alice@example.com  in 2d    1m ago');
    await f.run('keys', 'ls', '--user', 'robot@example.com', '-o', 'json');
    expect(JSON.parse(f.out[1]!)).toEqual(items);
    await f.run('keys', 'remove', 'ci-deploy');
    expect(f.out[2]).toBe('Access key "ci-deploy" revoked');
    expect(f.requests.map((r) => `${r.method} ${r.path}`)).toEqual([`GET ${keys}`, `GET ${keys}?user=robot%40example.com`, `DELETE ${keys}/ci-deploy`]);
  });

  it('says when there are none', async () => {
    const f = fake({ request: () => ({ items: [] }) });
    await f.run('keys', 'list');
    expect(f.out).toEqual(['No access keys: create one with `infra keys add NAME`.']);
  });
});
