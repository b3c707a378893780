import { describe, expect, it } from 'vitest';
import { cluster, kubectl, kubectlOk, uniqueName, userKubeconfigFile } from '../../test/cluster.ts';

describe('local control plane', () => {
  it.each(['hub', 'spoke'] as const)('%s serves the pinned Kubernetes version with RBAC', async (name) => {
    const version = JSON.parse(await kubectlOk(name, ['version', '-o', 'json'])) as { serverVersion: { gitVersion: string } };
    expect(version.serverVersion.gitVersion).toMatch(/^v1\.36\.\d+$/);
    await kubectlOk(name, ['get', '--raw', '/readyz']);
  });

  it('keeps hub and spoke apart although they share one etcd', async () => {
    const ns = uniqueName('only-in-hub');
    await kubectlOk('hub', ['create', 'namespace', ns]);
    expect((await kubectl('hub', ['get', 'namespace', ns])).code).toBe(0);
    const inSpoke = await kubectl('spoke', ['get', 'namespace', ns]);
    expect(inSpoke.code).not.toBe(0);
    expect(inSpoke.stderr).toContain('NotFound');
  });

  it('answers `auth can-i` as RBAC says for a non-admin client certificate', async () => {
    const ns = uniqueName('rbac');
    const user = `${uniqueName('dev')}@example.com`;
    const kubeconfig = await userKubeconfigFile('hub', user, ['developers']);
    const canI = (verb: string, resource: string, namespace: string) => kubectl('hub', ['auth', 'can-i', verb, resource, '-n', namespace], { kubeconfig });

    await kubectlOk('hub', ['create', 'namespace', ns]);
    expect((await canI('get', 'pods', ns)).stdout.trim()).toBe('no');

    // view has rules because kube-controller-manager aggregates them.
    await kubectlOk('hub', ['create', 'rolebinding', 'dev-view', '-n', ns, '--clusterrole=view', `--user=${user}`]);
    expect((await canI('get', 'pods', ns)).stdout.trim()).toBe('yes');
    expect((await canI('delete', 'pods', ns)).stdout.trim()).toBe('no');
    expect((await canI('get', 'pods', 'default')).stdout.trim()).toBe('no');

    const whoami = JSON.parse(await kubectlOk('hub', ['auth', 'whoami', '-o', 'json'], { kubeconfig })) as {
      status: { userInfo: { username: string; groups: string[] } };
    };
    expect(whoami.status.userInfo.username).toBe(user);
    expect(whoami.status.userInfo.groups).toContain('developers');
  });

  it('finalizes deleted namespaces (kube-controller-manager runs the namespace controller)', async () => {
    const ns = uniqueName('doomed');
    await kubectlOk('spoke', ['create', 'namespace', ns]);
    await kubectlOk('spoke', ['create', 'configmap', 'x', '-n', ns]);
    await kubectlOk('spoke', ['delete', 'namespace', ns, '--timeout=30s']);
    expect((await kubectl('spoke', ['get', 'namespace', ns])).stderr).toContain('NotFound');
  });

  it('has the aggregation layer configured with a separate front-proxy CA', async () => {
    const authConfig = JSON.parse(await kubectlOk('hub', ['get', 'configmap', '-n', 'kube-system', 'extension-apiserver-authentication', '-o', 'json'])) as {
      data: Record<string, string>;
    };
    expect(authConfig.data['requestheader-allowed-names']).toBe('["front-proxy-client"]');
    expect(authConfig.data['requestheader-username-headers']).toBe('["X-Remote-User"]');
    expect(authConfig.data['requestheader-client-ca-file']).toContain('BEGIN CERTIFICATE');
    expect(authConfig.data['requestheader-client-ca-file']).not.toBe(authConfig.data['client-ca-file']);
    expect(cluster('hub').server).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
  });
});
