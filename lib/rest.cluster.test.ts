// The REST client against the real spoke kube-apiserver: each verb does what the API
// says, failures carry the API's status and Status the way client-node's do, and a
// user's own credentials are what the server sees.
import { RbacAuthorizationV1Api, type V1RoleBinding } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cluster, kubectlOk, uniqueName, userKubeconfigFile } from '../test/cluster.ts';
import { loadKubeConfig, statusCode } from './kube.ts';
import { resourcePath, RestClient } from './rest.ts';

let namespace: string;
const admin = () => new RestClient(loadKubeConfig(cluster('spoke').adminKubeconfig));
const bindings = (name?: string) => resourcePath('rbac.authorization.k8s.io', 'v1', 'rolebindings', namespace, name);
const binding = (name: string, subjects: string[]) => ({
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'RoleBinding',
  metadata: { name, namespace },
  roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
  subjects: subjects.map((name) => ({ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name })),
});
const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => expect.unreachable('the call succeeded'),
    (err: unknown) => err as Error,
  );

beforeAll(async () => {
  namespace = uniqueName('rest');
  await kubectlOk('spoke', ['create', 'namespace', namespace]);
});

afterAll(async () => {
  await kubectlOk('spoke', ['delete', 'namespace', namespace, '--wait=false']);
});

describe('RestClient', () => {
  it('creates, applies, reads and deletes, under its field manager; a name with a colon is encoded', async () => {
    const api = admin();
    const name = 'infra:view';
    await api.create(bindings(), binding(name, ['ann@example.com']), 'rest-test');
    expect((await api.get<V1RoleBinding>(bindings(name))).subjects?.map((s) => s.name)).toEqual(['ann@example.com']);

    await api.apply(bindings(name), binding(name, ['ann@example.com', 'bob@example.com']), 'rest-test-apply');
    const applied = await loadKubeConfig(cluster('spoke').adminKubeconfig).makeApiClient(RbacAuthorizationV1Api).readNamespacedRoleBinding({ name, namespace });
    expect(applied.subjects?.map((s) => s.name)).toEqual(['ann@example.com', 'bob@example.com']);
    expect(applied.metadata?.managedFields?.map((f) => [f.manager, f.operation]).sort()).toEqual([
      ['rest-test', 'Update'],
      ['rest-test-apply', 'Apply'],
    ]);

    await api.delete(bindings(name));
    expect(statusCode(await failure(api.get(bindings(name))))).toBe(404);
  });

  it('lists a collection a page at a time, by label, uncompressed even where the API server would gzip it', async () => {
    const api = admin();
    // Subjects long enough that a page is over the 128 KiB from which the API server compresses.
    const subjects = Array.from({ length: 400 }, (_, i) => `user-${i}-${'x'.repeat(200)}@example.com`);
    for (const name of ['list-a', 'list-b', 'list-c']) {
      await api.create(bindings(), { ...binding(name, subjects), metadata: { name, namespace, labels: { listed: 'yes' } } }, 'rest-test');
    }
    await api.create(bindings(), binding('list-unlabelled', ['ann@example.com']), 'rest-test');
    const names: string[] = [];
    const pages: number[] = [];
    let next: string | undefined;
    do {
      const page = await api.list<V1RoleBinding>(bindings(), { limit: 2, labelSelector: 'listed=yes', ...(next ? { _continue: next } : {}) });
      pages.push(page.items.length);
      names.push(...page.items.map((b) => b.metadata!.name!));
      expect(page.items.every((b) => b.subjects?.length === subjects.length)).toBe(true);
      next = (page.metadata as { continue?: string } | undefined)?.continue || undefined;
    } while (next);
    expect(pages).toEqual([2, 1]);
    expect(names).toEqual(['list-a', 'list-b', 'list-c']);
  });

  it("fails with the HTTP status and the API's Status, as client-node does, in a message of one line", async () => {
    const api = admin();
    const name = uniqueName('taken');
    await api.create(bindings(), binding(name, ['ann@example.com']), 'rest-test');
    const conflict = await failure(api.create(bindings(), binding(name, ['bob@example.com']), 'rest-test'));
    expect(statusCode(conflict)).toBe(409);
    expect(conflict.message).toBe(`POST ${bindings()}: 409 AlreadyExists: rolebindings.rbac.authorization.k8s.io "${name}" already exists`);
    expect((conflict as Error & { body: { reason: string } }).body.reason).toBe('AlreadyExists');

    const invalid = await failure(
      api.apply(bindings(name), { ...binding(name, []), roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'edit' } }, 'rest-test'),
    );
    expect(statusCode(invalid)).toBe(422); // roleRef cannot change
    expect(statusCode(await failure(api.delete(bindings('absent'))))).toBe(404);
  });

  it("acts with the kubeconfig's own credentials: a user without RBAC is forbidden", async () => {
    const user = `${uniqueName('nobody')}@example.com`;
    const api = new RestClient(loadKubeConfig(await userKubeconfigFile('spoke', user)));
    const forbidden = await failure(api.get(bindings()));
    expect(statusCode(forbidden)).toBe(403);
    expect(forbidden.message).toContain(
      `GET ${bindings()}: 403 Forbidden: rolebindings.rbac.authorization.k8s.io is forbidden: User "${user}" cannot list resource "rolebindings"`,
    );
  });
});
