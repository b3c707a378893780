// The connector's own powers, out of reach of a Grant, against the real spoke API server:
// Grants on kube-system and the connector's namespace are not bound unless the Destination
// allows them; the RBAC sync identity and the proxy identity of config/connector/rbac.yaml
// each hold one power; and the API server itself refuses the proxy identity system:masters.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyGrant, grantCondition, kubectl, kubectlOk, startTestInfra, uniqueName } from '../test/cluster.ts';
import type { Infra } from '../hack/local-infra/infra.ts';
import { eventually } from '../hack/local-infra/programs.ts';

const destination = uniqueName('guarded');
const alice = `${uniqueName('alice')}@example.com`;
const password = 'a long enough password';
const installNamespace = 'infra-system';
const syncIdentity = `system:serviceaccount:${installNamespace}:infra-connector`;
const proxyIdentity = `system:serviceaccount:${installNamespace}:infra-connector-proxy`;
/** The connector's heartbeat (30 s) reads the Destination's allowGrantsIn. */
const heartbeat = 45_000;
let infra: Infra;

const synced = (name: string) => grantCondition(name, 'Synced');

const roleBindingSubjects = async (namespace: string, name: string) => {
  const result = await kubectl('spoke', ['get', 'rolebinding', '-n', namespace, name, '-o', 'jsonpath={.subjects[*].name}']);
  return result.code === 0 ? result.stdout.split(' ') : undefined;
};

beforeAll(async () => {
  infra = await startTestInfra({ namespace: uniqueName('infra'), destination }, { [alice]: password });
}, 120_000);

afterAll(async () => {
  await infra?.stop();
});

describe('Grants on the namespaces that hold the connector and the cluster', () => {
  it('does not bind a Grant on <dest>.kube-system, says why, and binds it once the Destination allows kube-system', async () => {
    const name = uniqueName('ks-view');
    await applyGrant(name, { user: alice, role: 'view', resource: `${destination}.kube-system` });
    await eventually(async () => {
      const condition = await synced(name);
      expect(condition).toMatchObject({ status: 'False', reason: 'ProtectedNamespace' });
      expect(condition?.message).toContain('allowGrantsIn');
    });
    expect(await roleBindingSubjects('kube-system', 'infra:view')).toBeUndefined();

    await kubectlOk('hub', ['patch', 'destination', destination, '--type', 'merge', '-p', '{"spec":{"allowGrantsIn":["kube-system"]}}']);
    await eventually(async () => {
      expect(await roleBindingSubjects('kube-system', 'infra:view')).toEqual([alice]);
      expect(await synced(name)).toMatchObject({ status: 'True', reason: 'Bound' });
    }, heartbeat);

    await kubectlOk('hub', ['patch', 'destination', destination, '--type', 'merge', '-p', '{"spec":{"allowGrantsIn":null}}']);
    await eventually(async () => expect(await roleBindingSubjects('kube-system', 'infra:view')).toBeUndefined(), heartbeat);
    await kubectlOk('hub', ['delete', 'grant', name]);
  }, 150_000);

  it("does not bind a Grant on the connector's own namespace", async () => {
    const name = uniqueName('own-edit');
    const own = infra.connectorOptions.namespace;
    await applyGrant(name, { user: alice, role: 'edit', resource: `${destination}.${own}` });
    await eventually(async () => expect(await synced(name)).toMatchObject({ status: 'False', reason: 'ProtectedNamespace' }));
    expect(await roleBindingSubjects(own, 'infra:edit')).toBeUndefined();
    await kubectlOk('hub', ['delete', 'grant', name]);
  });

  it('refuses an allowGrantsIn entry that is not a namespace name', async () => {
    const result = await kubectl('hub', ['patch', 'destination', destination, '--type', 'merge', '-p', '{"spec":{"allowGrantsIn":["Kube System"]}}']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('allowGrantsIn lists namespace names');
  });
});

describe('config/connector/rbac.yaml: two identities, one power each', () => {
  beforeAll(async () => {
    const manifest = await kubectlOk('spoke', ['create', 'namespace', installNamespace, '--dry-run=client', '-o', 'yaml']);
    await kubectlOk('spoke', ['apply', '--server-side', '-f', '-'], { input: manifest });
    await kubectlOk('spoke', ['apply', '--server-side', '--force-conflicts', '-f', join(import.meta.dirname, '..', 'config', 'connector', 'rbac.yaml')]);
  });

  const can = async (identity: string, ...args: string[]) => (await kubectl('spoke', ['auth', 'can-i', ...args, '--as', identity])).stdout.trim();
  /** A SubjectAccessReview for constrained impersonation's verbs (kubectl auth can-i reads groups.authentication.k8s.io as resource.version.group). */
  const mayImpersonate = async (serviceAccount: string, resource: 'users' | 'groups', name: string) => {
    const review = {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: {
        user: serviceAccount,
        groups: ['system:serviceaccounts', `system:serviceaccounts:${installNamespace}`, 'system:authenticated'],
        resourceAttributes: { verb: 'impersonate:user-info', group: 'authentication.k8s.io', resource, name },
      },
    };
    return (await kubectlOk('spoke', ['create', '-f', '-', '-o', 'jsonpath={.status.allowed}'], { input: JSON.stringify(review) })) === 'true';
  };

  it('the proxy identity cannot bind, escalate, write bindings or read secrets', async () => {
    expect(await can(proxyIdentity, 'bind', 'clusterroles')).toBe('no');
    expect(await can(proxyIdentity, 'escalate', 'clusterroles')).toBe('no');
    expect(await can(proxyIdentity, 'create', 'clusterrolebindings')).toBe('no');
    expect(await can(proxyIdentity, 'create', 'rolebindings', '-n', 'kube-system')).toBe('no');
    expect(await can(proxyIdentity, 'get', 'secrets', '-n', installNamespace)).toBe('no');
    expect(await can(proxyIdentity, 'list', 'pods', '-A')).toBe('no');
    // Not even the legacy impersonate verb: only constrained impersonation of users and groups.
    expect(await can(proxyIdentity, 'impersonate', 'groups')).toBe('no');
    expect(await can(proxyIdentity, 'impersonate', 'serviceaccounts', '-A')).toBe('no');
    expect(await mayImpersonate(proxyIdentity, 'groups', 'developers')).toBe(true);
  });

  it('the RBAC sync identity cannot impersonate', async () => {
    expect(await can(syncIdentity, 'bind', 'clusterroles')).toBe('yes');
    expect(await can(syncIdentity, 'impersonate', 'users')).toBe('no');
    expect(await can(syncIdentity, 'impersonate', 'groups')).toBe('no');
    expect(await mayImpersonate(syncIdentity, 'users', 'alice@example.com')).toBe(false);
    expect(await mayImpersonate(syncIdentity, 'groups', 'developers')).toBe(false);
  });
});

describe("the API server's constrained impersonation, as the proxy identity", () => {
  /** kubectl as the proxy identity the connector under test runs with (a token for it). */
  const asProxy = (args: string[]) => kubectl('spoke', args, { kubeconfig: infra.proxyIdentity.kubeconfig });

  it('refuses system:masters, a service account and a node, whatever the proxy sends', async () => {
    const masters = await asProxy(['get', 'secrets', '-n', 'kube-system', '--as', alice, '--as-group', 'system:masters']);
    expect(masters.code).not.toBe(0);
    expect(masters.stderr).toContain('impersonating the system:masters group is not allowed');
    const serviceAccount = await asProxy(['get', 'secrets', '-n', 'kube-system', '--as', 'system:serviceaccount:kube-system:default']);
    expect(serviceAccount.code).not.toBe(0);
    expect(serviceAccount.stderr).toMatch(/cannot impersonate/);
    const node = await asProxy(['get', 'nodes', '--as', 'system:node:n1', '--as-group', 'system:nodes']);
    expect(node.code).not.toBe(0);
  });

  it('impersonates an ordinary user and group: RBAC then decides as them', async () => {
    await kubectlOk('spoke', ['create', 'clusterrolebinding', uniqueName('imp-view'), '--clusterrole=view', `--group=${destination}-readers`]);
    expect((await asProxy(['get', 'namespaces', '--as', alice, '--as-group', `${destination}-readers`])).code).toBe(0);
    const denied = await asProxy(['get', 'namespaces', '--as', alice]);
    expect(denied.stderr).toContain(`User "${alice}" cannot list resource "namespaces"`);
  });

  it('serves kubectl through the connector on the proxy identity alone', async () => {
    const web = uniqueName('web');
    await kubectlOk('spoke', ['create', 'namespace', web]);
    const name = uniqueName('alice-view');
    await applyGrant(name, { user: alice, role: 'view', resource: `${destination}.${web}` });
    const kubeconfig = await infra.proxyKubeconfig(await infra.token(alice, password));
    await eventually(async () => {
      const secret = await kubectl('spoke', ['create', 'secret', 'generic', 'probe', '-n', web, '--dry-run=server'], { kubeconfig });
      expect(secret.stderr).toContain(`User "${alice}" cannot create resource "secrets"`);
      expect((await kubectl('spoke', ['auth', 'can-i', 'list', 'pods', '-n', web], { kubeconfig })).stdout.trim()).toBe('yes');
      const listed = await kubectl('spoke', ['get', 'pods', '-n', web], { kubeconfig });
      expect(listed.code, listed.stderr).toBe(0);
    });
    await kubectlOk('hub', ['delete', 'grant', name]);
  });
});
