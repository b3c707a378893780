// What the RBAC sync decides (planBinding: write, prune or keep), and how rbacSync acts
// on it, on in-memory informers and a fake spoke API server on loopback.
// desired.test.ts covers the helpers underneath (binding keys, shards, syncProblem).
import { KubeConfig, type RbacV1Subject, type V1ClusterRoleBinding, type V1Namespace, type V1RoleBinding } from '@kubernetes/client-node';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { destinationLabel } from '../../api/grants.ts';
import type { Grant, resources } from '../../api/v1alpha1/types.ts';
import type { Applier } from '../../lib/apply.ts';
import { ControllerMetrics } from '../../lib/controller/controller.ts';
import { FakeInformer } from '../../test/fake-informer.ts';
import { planBinding, rbacSync, type BindingPlanInput, type RBACSync } from './controller.ts';
import { managedByLabel, managedByValue, maxSubjectsPerBinding } from './desired.ts';
import { ProtectedNamespaces } from './protected-namespaces.ts';

const destination = 'prod';
const now = new Date('2030-06-01T12:00:00Z');
const rbacGroup = 'rbac.authorization.k8s.io';

const grant = (name: string, spec: Partial<Grant['spec']> & { resource: string }): Grant => ({
  apiVersion: 'infrahq.com/v1alpha1',
  kind: 'Grant',
  // As the operator labels it: with the destination it is for, here or not.
  metadata: { name, generation: 1, labels: { [destinationLabel]: destination } },
  spec: { role: 'view', ...spec },
});
const unlabelled = (g: Grant): Grant => ({ ...g, metadata: { name: g.metadata.name!, generation: g.metadata.generation! } });
const userSubject = (name: string): RbacV1Subject => ({ kind: 'User', apiGroup: rbacGroup, name });
const groupSubject = (name: string): RbacV1Subject => ({ kind: 'Group', apiGroup: rbacGroup, name });
const owned = (name: string, subjects: RbacV1Subject[], namespace?: string, role = 'view'): V1ClusterRoleBinding | V1RoleBinding => ({
  apiVersion: `${rbacGroup}/v1`,
  kind: namespace ? 'RoleBinding' : 'ClusterRoleBinding',
  metadata: { name, ...(namespace ? { namespace } : {}), labels: { [managedByLabel]: managedByValue } },
  roleRef: { apiGroup: rbacGroup, kind: 'ClusterRole', name: role },
  subjects,
});

const plan = (input: Partial<BindingPlanInput>) =>
  planBinding({ key: '/view', destination, contributing: [], owned: [], roles: new Set(['view', 'edit']), namespaces: new Set(['web']), now, ...input });
const reasons = (p: ReturnType<typeof plan>): Record<string, string> =>
  Object.fromEntries(p.synced.map(({ grant, condition }): [string, string] => [grant.metadata.name ?? '', `${condition.status} ${condition.reason}`]));

describe('planBinding', () => {
  it('creates the binding the Grants want when the spoke has none, with their subjects once each, sorted', () => {
    const p = plan({
      contributing: [
        grant('b', { user: 'b@example.com', resource: 'prod' }),
        grant('ops', { group: 'ops', resource: 'prod' }),
        grant('a', { user: 'a@example.com', resource: 'prod' }),
        grant('a2', { user: 'a@example.com', resource: 'prod' }),
      ],
    });
    expect(p.writes).toEqual([
      { name: 'infra:view', exists: false, subjects: [groupSubject('ops'), userSubject('a@example.com'), userSubject('b@example.com')] },
    ]);
    expect(p.prune).toEqual([]);
  });

  it('keeps a binding that already has exactly the wanted subjects: no write', () => {
    const p = plan({ contributing: [grant('a', { user: 'a@example.com', resource: 'prod' })], owned: [owned('infra:view', [userSubject('a@example.com')])] });
    expect(p).toMatchObject({ writes: [], prune: [] });
  });

  it('applies over an owned binding whose subjects differ (a Grant added, or a hand edit)', () => {
    const p = plan({
      contributing: [grant('a', { user: 'a@example.com', resource: 'prod' }), grant('b', { user: 'b@example.com', resource: 'prod' })],
      owned: [owned('infra:view', [userSubject('a@example.com'), userSubject('mallory@example.com')])],
    });
    expect(p.writes).toEqual([{ name: 'infra:view', exists: true, subjects: [userSubject('a@example.com'), userSubject('b@example.com')] }]);
    expect(p.prune).toEqual([]);
  });

  it('prunes every owned shard once no Grant wants the binding', () => {
    const p = plan({ owned: [owned('infra:view', [userSubject('a@example.com')]), owned('infra:view:2', [userSubject('b@example.com')])] });
    expect(p).toMatchObject({ writes: [], prune: ['infra:view', 'infra:view:2'] });
  });

  it('prunes only owned bindings: with nothing owned there is nothing to delete, whatever else the spoke has', () => {
    expect(plan({})).toEqual({ writes: [], prune: [], synced: [] });
  });

  it('prunes shards no longer needed and rewrites the first when the subjects shrink', () => {
    const first = Array.from({ length: maxSubjectsPerBinding }, (_, i) => userSubject(`u${String(i).padStart(4, '0')}@example.com`));
    const p = plan({
      contributing: [grant('one', { user: 'u0000@example.com', resource: 'prod' })],
      owned: [owned('infra:view', first), owned('infra:view:2', [userSubject('z@example.com')]), owned('infra:view:3', [])],
    });
    expect(p.writes).toEqual([{ name: 'infra:view', exists: true, subjects: [userSubject('u0000@example.com')] }]);
    expect(p.prune).toEqual(['infra:view:2', 'infra:view:3']);
  });

  it('writes a new shard past maxSubjectsPerBinding, and leaves the full one as it is', () => {
    const grants = Array.from({ length: maxSubjectsPerBinding + 1 }, (_, i) =>
      grant(`g${i}`, { user: `u${String(i).padStart(4, '0')}@example.com`, resource: 'prod' }),
    );
    const first = grants.slice(0, maxSubjectsPerBinding).map((g) => userSubject(g.spec.user!));
    const p = plan({ contributing: grants, owned: [owned('infra:view', first)] });
    expect(p.writes).toEqual([{ name: 'infra:view:2', exists: false, subjects: [userSubject(`u${maxSubjectsPerBinding}@example.com`)] }]);
    expect(p.prune).toEqual([]);
  });

  it('leaves out expired Grants, pruning the binding they alone held, and says Expired', () => {
    const p = plan({
      contributing: [grant('old', { user: 'a@example.com', resource: 'prod', expiresAt: now.toISOString() })],
      owned: [owned('infra:view', [userSubject('a@example.com')])],
    });
    expect(p).toMatchObject({ writes: [], prune: ['infra:view'] });
    expect(reasons(p)).toEqual({ old: 'False Expired' });
  });

  it('binds none of a role the spoke lacks, and says RoleNotFound', () => {
    const p = plan({ key: '/cluster-admin', contributing: [grant('root', { user: 'a@example.com', role: 'cluster-admin', resource: 'prod' })] });
    expect(p).toMatchObject({ writes: [], prune: [] });
    expect(reasons(p)).toEqual({ root: 'False RoleNotFound' });
  });

  it('binds in a namespace only once it exists: NamespaceNotFound before, a RoleBinding after', () => {
    const grants = [grant('later', { user: 'a@example.com', resource: 'prod.api' })];
    const before = plan({ key: 'api/view', contributing: grants });
    expect(before).toMatchObject({ writes: [], prune: [] });
    expect(reasons(before)).toEqual({ later: 'False NamespaceNotFound' });
    const after = plan({ key: 'api/view', contributing: grants, namespaces: new Set(['web', 'api']) });
    expect(after.writes).toEqual([{ name: 'infra:view', exists: false, subjects: [userSubject('a@example.com')] }]);
    expect(after.synced[0]!.condition).toEqual({ type: 'Synced', status: 'True', reason: 'Bound', message: 'bound by RoleBinding api/infra:view in prod' });
  });

  it('binds the Grants that can be bound and reports each Grant on its own', () => {
    const p = plan({
      contributing: [
        grant('ok', { user: 'a@example.com', resource: 'prod' }),
        grant('done', { user: 'b@example.com', resource: 'prod', expiresAt: '2030-01-01T00:00:00Z' }),
      ],
      owned: [owned('infra:view', [userSubject('a@example.com'), userSubject('b@example.com')])],
    });
    expect(p.writes).toEqual([{ name: 'infra:view', exists: true, subjects: [userSubject('a@example.com')] }]);
    expect(reasons(p)).toEqual({ ok: 'True Bound', done: 'False Expired' });
    expect(p.synced[0]!.condition.message).toBe('bound by ClusterRoleBinding infra:view in prod');
  });

  it('comes back at the next expiry of a contributing Grant, and not for expired or unending ones', () => {
    const p = plan({
      contributing: [
        grant('soon', { user: 'a@example.com', resource: 'prod', expiresAt: '2030-06-01T12:00:30Z' }),
        grant('later', { user: 'b@example.com', resource: 'prod', expiresAt: '2030-06-01T13:00:00Z' }),
        grant('past', { user: 'c@example.com', resource: 'prod', expiresAt: '2030-06-01T11:00:00Z' }),
        grant('forever', { user: 'd@example.com', resource: 'prod' }),
      ],
    });
    expect(p.requeueAfterMs).toBe(30_000);
    expect(
      plan({
        contributing: [
          grant('forever', { user: 'd@example.com', resource: 'prod' }),
          grant('past', { user: 'c@example.com', resource: 'prod', expiresAt: '2030-06-01T11:00:00Z' }),
        ],
      }).requeueAfterMs,
    ).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------
// rbacSync on fakes: the hub's Grants and the spoke's informers in memory, the spoke's
// API server on loopback (writes reach the binding informers only when labelled, as the
// connector's label-selected watch would see them).

type Binding = V1ClusterRoleBinding | V1RoleBinding;

interface Spoke {
  server: Server;
  kubeConfig: KubeConfig;
  /** Every binding in the spoke, Infra's or not, by `<namespace>/<name>`. */
  bindings: Map<string, Binding>;
  requests: string[];
}

async function startSpoke(
  informers: { clusterRoleBindings: FakeInformer<V1ClusterRoleBinding>; roleBindings: FakeInformer<V1RoleBinding> },
  existing: Binding[] = [],
): Promise<Spoke> {
  const bindings = new Map<string, Binding>(existing.map((b) => [`${b.metadata?.namespace ?? ''}/${b.metadata!.name}`, b]));
  const requests: string[] = [];
  const send = (res: ServerResponse, code: number, body: unknown) => {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const reflect = (binding: Binding, deleted = false) => {
    const informer = (binding.metadata?.namespace ? informers.roleBindings : informers.clusterRoleBindings) as FakeInformer<Binding>;
    if (binding.metadata?.labels?.[managedByLabel] !== managedByValue) return;
    if (deleted) informer.remove(binding.metadata.name!, binding.metadata.namespace);
    else informer.set(structuredClone(binding));
  };
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const path = decodeURIComponent(new URL(req.url ?? '/', 'http://spoke').pathname);
      requests.push(`${req.method} ${path}`);
      const match = /^\/apis\/rbac\.authorization\.k8s\.io\/v1(?:\/namespaces\/([^/]+))?\/(clusterrolebindings|rolebindings)(?:\/([^/]+))?$/.exec(path);
      if (!match) return send(res, 404, { kind: 'Status', code: 404, reason: 'NotFound' });
      const namespace = match[1] ?? '';
      const key = (name: string) => `${namespace}/${name}`;
      if (req.method === 'POST') {
        const binding = JSON.parse(body) as Binding;
        if (bindings.has(key(binding.metadata!.name!)))
          return send(res, 409, { kind: 'Status', code: 409, reason: 'AlreadyExists', message: 'already exists' });
        bindings.set(key(binding.metadata!.name!), binding);
        reflect(binding);
        return send(res, 201, binding);
      }
      const name = match[3]!;
      const current = bindings.get(key(name));
      if (req.method === 'PATCH') {
        const binding = JSON.parse(body) as Binding;
        bindings.set(key(name), binding);
        reflect(binding);
        return send(res, 200, binding);
      }
      if (!current) return send(res, 404, { kind: 'Status', code: 404, reason: 'NotFound' });
      if (req.method === 'GET') return send(res, 200, current);
      if (req.method === 'DELETE') {
        // DeleteOptions.preconditions, as the API server checks them.
        const expected = body ? (JSON.parse(body) as { preconditions?: { resourceVersion?: string } }).preconditions?.resourceVersion : undefined;
        if (expected !== undefined && expected !== current.metadata?.resourceVersion) {
          return send(res, 409, { kind: 'Status', code: 409, reason: 'Conflict', message: 'Precondition failed: ResourceVersion in precondition' });
        }
        bindings.delete(key(name));
        reflect(current, true);
        return send(res, 200, { kind: 'Status', status: 'Success' });
      }
      send(res, 405, {});
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    // Plain HTTP on loopback: client-node allows it only with skipTLSVerify.
    clusters: [{ name: 'spoke', server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true }],
    users: [{ name: 'connector', token: 'connector-token' }],
    contexts: [{ name: 'spoke', cluster: 'spoke', user: 'connector' }],
    currentContext: 'spoke',
  });
  return { server, kubeConfig, bindings, requests };
}

interface Harness {
  grants: FakeInformer<Grant>;
  namespaces: FakeInformer<V1Namespace>;
  clusterRoles: FakeInformer<{ metadata?: { name?: string } }>;
  clusterRoleBindings: FakeInformer<V1ClusterRoleBinding>;
  roleBindings: FakeInformer<V1RoleBinding>;
  spoke: Spoke;
  /** kube-system and infra-system; allowGrantsIn starts empty (read from the Destination) unless the test says unknown. */
  protectedNamespaces: ProtectedNamespaces;
  sync: RBACSync;
  /** Synced conditions written to the hub, by Grant name, latest last. */
  statuses: { grant: string; status: string; reason: string }[];
  /** What the connector logged. */
  logs: Record<string, unknown>[];
}

const running: Harness[] = [];

afterEach(async () => {
  for (const h of running.splice(0)) {
    await h.sync.stop();
    h.spoke.server.closeAllConnections();
    await new Promise<void>((resolve) => h.spoke.server.close(() => resolve()));
  }
});

async function harness(
  options: {
    grants?: Grant[];
    grantsSynced?: boolean;
    spokeSynced?: boolean;
    namespaces?: string[];
    existing?: Binding[];
    hubDown?: boolean;
    /** The Destination's spec.allowGrantsIn; null: not read yet. */
    allowGrantsIn?: string[] | null;
    /** Whether this replica holds the leader Lease; unset: no leader election. */
    holdsLease?: () => boolean;
  } = {},
): Promise<Harness> {
  const named = <T>(name: string, extra: object = {}) => ({ metadata: { name }, ...extra }) as T;
  const clusterRoleBindings = new FakeInformer<V1ClusterRoleBinding>(
    (options.existing ?? []).filter((b) => !b.metadata?.namespace && b.metadata?.labels?.[managedByLabel] === managedByValue),
  );
  const roleBindings = new FakeInformer<V1RoleBinding>(
    (options.existing ?? []).filter((b) => b.metadata?.namespace && b.metadata?.labels?.[managedByLabel] === managedByValue),
  );
  const h = {
    grants: new FakeInformer<Grant>(options.grants ?? [], { synced: options.grantsSynced ?? true }),
    namespaces: new FakeInformer<V1Namespace>(
      (options.namespaces ?? []).map((n) => named<V1Namespace>(n)),
      { synced: options.spokeSynced ?? true },
    ),
    clusterRoles: new FakeInformer<{ metadata?: { name?: string } }>(['view', 'edit', 'admin'].map((n) => named(n))),
    clusterRoleBindings,
    roleBindings,
    spoke: await startSpoke({ clusterRoleBindings, roleBindings }, options.existing),
    protectedNamespaces: new ProtectedNamespaces('infra-system'),
    statuses: [] as Harness['statuses'],
    logs: [] as Harness['logs'],
  };
  const hub = {
    applyStatus: async (_kind: string, name: string, status: { conditions: { status: string; reason: string }[] }) => {
      if (options.hubDown) throw new Error('connect ECONNREFUSED hub');
      const synced = status.conditions[0]!;
      h.statuses.push({ grant: name, status: synced.status, reason: synced.reason });
    },
  } as unknown as Applier<typeof resources>;
  const lines = new Writable({
    write: (chunk: Buffer, _encoding, done) => void (h.logs.push(JSON.parse(chunk.toString()) as Record<string, unknown>), done()),
  });
  const sync = rbacSync({
    destination,
    grants: h.grants.informer,
    spoke: {
      namespaces: h.namespaces.informer,
      clusterRoles: h.clusterRoles.informer,
      clusterRoleBindings: h.clusterRoleBindings.informer,
      roleBindings: h.roleBindings.informer,
    },
    spokeConfig: h.spoke.kubeConfig,
    protectedNamespaces: h.protectedNamespaces,
    hub,
    logger: pino({ level: 'info' }, lines),
    metrics: new ControllerMetrics(new Registry()),
    ...(options.holdsLease ? { holdsLease: options.holdsLease } : {}),
  });
  if (options.allowGrantsIn !== null) h.protectedNamespaces.update(options.allowGrantsIn ?? []);
  const result = { ...h, sync };
  running.push(result);
  return result;
}

const subjectsOf = (h: Harness, key: string) => h.spoke.bindings.get(key)?.subjects?.map((s) => s.name);
const settle = () => new Promise((resolve) => setTimeout(resolve, 300));
const waitFor = (check: () => void) => vi.waitFor(check, { timeout: 5_000, interval: 20 });
const deletes = (h: Harness) => h.spoke.requests.filter((r) => r.startsWith('DELETE'));

describe('rbacSync', () => {
  it("touches nothing before the hub's Grants are listed once: doubt never empties the spoke", async () => {
    const h = await harness({ grantsSynced: false, existing: [owned('infra:view', [userSubject('a@example.com')])] });
    h.sync.start();
    await settle();
    expect(h.spoke.requests).toEqual([]);
    h.grants.set(grant('a', { user: 'a@example.com', resource: 'prod' }));
    h.grants.set(grant('b', { user: 'b@example.com', resource: 'prod' }));
    h.grants.markSynced();
    await waitFor(() => expect(subjectsOf(h, '/infra:view')).toEqual(['a@example.com', 'b@example.com']));
    expect(deletes(h)).toEqual([]);
  });

  it("touches nothing before the spoke's namespaces are listed: an unknown namespace is not a missing one", async () => {
    const h = await harness({
      spokeSynced: false,
      grants: [grant('a', { user: 'a@example.com', resource: 'prod.web' })],
      existing: [owned('infra:view', [userSubject('old@example.com')], 'web')],
    });
    h.sync.start();
    await settle();
    expect(h.spoke.requests).toEqual([]);
    h.namespaces.set({ metadata: { name: 'web' } });
    h.namespaces.markSynced();
    await waitFor(() => expect(subjectsOf(h, 'web/infra:view')).toEqual(['a@example.com']));
    expect(deletes(h)).toEqual([]);
  });

  it('keeps the bindings while the hub cannot be written: failed status writes neither block nor undo access', async () => {
    const h = await harness({
      hubDown: true,
      grants: [grant('a', { user: 'a@example.com', resource: 'prod' })],
      existing: [owned('infra:edit', [userSubject('x@example.com')], undefined, 'edit')],
    });
    h.sync.start();
    await waitFor(() => expect(subjectsOf(h, '/infra:view')).toEqual(['a@example.com']));
    // The binding no Grant wants is still pruned: that is what the last known Grants say.
    await waitFor(() => expect(h.spoke.bindings.has('/infra:edit')).toBe(false));
    await settle();
    expect(subjectsOf(h, '/infra:view')).toEqual(['a@example.com']);
    expect(deletes(h)).toEqual(['DELETE /apis/rbac.authorization.k8s.io/v1/clusterrolebindings/infra:edit']);
  });

  it('binds a namespace Grant as soon as the namespace is created, and says NamespaceNotFound until then', async () => {
    const h = await harness({ grants: [grant('web', { user: 'a@example.com', resource: 'prod.web' })] });
    h.sync.start();
    await waitFor(() => expect(h.statuses).toContainEqual({ grant: 'web', status: 'False', reason: 'NamespaceNotFound' }));
    expect(h.spoke.bindings.size).toBe(0);
    h.namespaces.set({ metadata: { name: 'web' } });
    await waitFor(() => expect(subjectsOf(h, 'web/infra:view')).toEqual(['a@example.com']));
    await waitFor(() => expect(h.statuses.at(-1)).toEqual({ grant: 'web', status: 'True', reason: 'Bound' }));
  });

  it("leaves a binding that is not Infra's as it is, even under Infra's name, and says why it cannot bind", async () => {
    const foreign = { ...owned('infra:view', [userSubject('someone@example.com')]), metadata: { name: 'infra:view' } };
    const unrelated = { ...owned('team-admins', [groupSubject('team')], undefined, 'admin'), metadata: { name: 'team-admins' } };
    const h = await harness({ grants: [grant('a', { user: 'a@example.com', resource: 'prod' })], existing: [foreign, unrelated] });
    h.sync.start();
    await waitFor(() => expect(h.logs.some((l) => String(l['err']).includes('ClusterRoleBinding infra:view exists but is not managed by Infra'))).toBe(true));
    await settle();
    expect(h.spoke.bindings.get('/infra:view')).toEqual(foreign);
    expect(h.spoke.bindings.get('/team-admins')).toEqual(unrelated);
    expect(h.spoke.requests.filter((r) => !r.startsWith('POST') && !r.startsWith('GET'))).toEqual([]);
  });

  it('prunes a binding when its last Grant is deleted, and when its last Grant expires', async () => {
    const expiresAt = new Date(Date.now() + 500).toISOString();
    const h = await harness({
      grants: [grant('a', { user: 'a@example.com', resource: 'prod' }), grant('temp', { user: 'b@example.com', role: 'edit', resource: 'prod', expiresAt })],
    });
    h.sync.start();
    await waitFor(() => expect([subjectsOf(h, '/infra:view'), subjectsOf(h, '/infra:edit')]).toEqual([['a@example.com'], ['b@example.com']]));
    h.grants.remove('a');
    await waitFor(() => expect(h.spoke.bindings.has('/infra:view')).toBe(false));
    await waitFor(() => expect(h.spoke.bindings.has('/infra:edit')).toBe(false));
    expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(expiresAt));
  });

  it('puts back a binding someone edited by hand', async () => {
    const h = await harness({ grants: [grant('a', { user: 'a@example.com', resource: 'prod' })] });
    h.sync.start();
    await waitFor(() => expect(subjectsOf(h, '/infra:view')).toEqual(['a@example.com']));
    const edited = owned('infra:view', [userSubject('a@example.com'), userSubject('mallory@example.com')]);
    h.spoke.bindings.set('/infra:view', edited);
    h.clusterRoleBindings.set(edited);
    await waitFor(() => expect(subjectsOf(h, '/infra:view')).toEqual(['a@example.com']));
  });

  it('binds nothing in kube-system or its own namespace until the Destination allows it, and unbinds when it stops', async () => {
    const h = await harness({
      namespaces: ['kube-system', 'infra-system', 'web'],
      allowGrantsIn: null,
      grants: [
        grant('ks', { user: 'a@example.com', resource: 'prod.kube-system' }),
        grant('own', { user: 'a@example.com', resource: 'prod.infra-system' }),
        grant('web', { user: 'a@example.com', resource: 'prod.web' }),
      ],
    });
    h.sync.start();
    await settle();
    // Before the Destination is read, nothing: not even the unprotected namespace.
    expect(h.spoke.requests).toEqual([]);
    h.protectedNamespaces.update([]);
    await waitFor(() => expect(subjectsOf(h, 'web/infra:view')).toEqual(['a@example.com']));
    await waitFor(() =>
      expect(h.statuses).toEqual(
        expect.arrayContaining([
          { grant: 'ks', status: 'False', reason: 'ProtectedNamespace' },
          { grant: 'own', status: 'False', reason: 'ProtectedNamespace' },
        ]),
      ),
    );
    expect([...h.spoke.bindings.keys()]).toEqual(['web/infra:view']);
    h.protectedNamespaces.update(['kube-system']);
    await waitFor(() => expect(subjectsOf(h, 'kube-system/infra:view')).toEqual(['a@example.com']));
    expect(h.spoke.bindings.has('infra-system/infra:view')).toBe(false);
    h.protectedNamespaces.update([]);
    await waitFor(() => expect(h.spoke.bindings.has('kube-system/infra:view')).toBe(false));
  });

  it('writes nothing once it no longer holds the leader Lease, and resumes when it does', async () => {
    let holds = false;
    const h = await harness({
      grants: [grant('a', { user: 'a@example.com', resource: 'prod' })],
      existing: [owned('infra:edit', [userSubject('x@example.com')], undefined, 'edit')],
      holdsLease: () => holds,
    });
    h.sync.start();
    await waitFor(() => expect(h.logs.some((l) => String(l['err']).includes('no longer holds the leader Lease'))).toBe(true));
    expect(h.spoke.requests).toEqual([]);
    holds = true;
    h.grants.set(grant('b', { user: 'b@example.com', resource: 'prod' }));
    await waitFor(() => expect(subjectsOf(h, '/infra:view')).toEqual(['a@example.com', 'b@example.com']));
    await waitFor(() => expect(h.spoke.bindings.has('/infra:edit')).toBe(false));
  });

  it('deletes only the version of a binding it read: one rewritten since (by a newer leader) stays', async () => {
    const stale = { ...owned('infra:edit', [userSubject('x@example.com')], undefined, 'edit') };
    stale.metadata = { ...stale.metadata, resourceVersion: '1' };
    const h = await harness({ existing: [stale] });
    // The spoke has moved on since this replica's cache saw the binding.
    h.spoke.bindings.set('/infra:edit', { ...stale, metadata: { ...stale.metadata, resourceVersion: '2' } });
    h.sync.start();
    await waitFor(() => expect(h.logs.some((l) => String(l['err']).includes('infra:edit changed since this replica read it'))).toBe(true));
    expect(h.spoke.bindings.get('/infra:edit')?.metadata?.resourceVersion).toBe('2');
  });

  it('binds a Grant the operator has not labelled yet, and records Synced only once it is labelled', async () => {
    const h = await harness();
    h.sync.start();
    h.grants.set(unlabelled(grant('early', { user: 'e@example.com', resource: 'prod' })));
    h.grants.set(unlabelled(grant('elsewhere', { user: 'x@example.com', resource: 'staging' })));
    await waitFor(() => expect(subjectsOf(h, '/infra:view')).toEqual(['e@example.com']));
    await settle();
    // The hub would refuse it (ADR 15); nor is another destination's unlabelled Grant worth a warning.
    expect(h.statuses).toEqual([]);
    expect(h.logs.filter((l) => l['grant'] === 'elsewhere')).toEqual([]);
    h.grants.set(grant('early', { user: 'e@example.com', resource: 'prod' }));
    await waitFor(() => expect(h.statuses).toEqual([{ grant: 'early', status: 'True', reason: 'Bound' }]));
    expect(subjectsOf(h, '/infra:view')).toEqual(['e@example.com']);
  });

  it('ignores and logs a Grant labelled for this destination whose resource names another', async () => {
    const h = await harness({ grants: [grant('theirs', { user: 'mallory@example.com', role: 'edit', resource: 'staging' })] });
    h.sync.start();
    h.grants.set(grant('mine', { user: 'a@example.com', resource: 'prod' }));
    h.grants.set(grant('theirs', { user: 'mallory@example.com', role: 'edit', resource: 'staging' }));
    await waitFor(() => expect(subjectsOf(h, '/infra:view')).toEqual(['a@example.com']));
    await settle();
    expect(h.spoke.bindings.has('/infra:edit')).toBe(false);
    expect(h.statuses.map((s) => s.grant)).not.toContain('theirs');
    expect(h.logs).toContainEqual(
      expect.objectContaining({ grant: 'theirs', resource: 'staging', msg: expect.stringContaining('its resource names another') }),
    );
    // A Grant edited away from this destination leaves its binding.
    h.grants.set(grant('mine', { user: 'a@example.com', resource: 'staging' }));
    await waitFor(() => expect(h.spoke.bindings.has('/infra:view')).toBe(false));
  });
});
