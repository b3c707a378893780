// A token carries only the groups the caller's Grants on its destination name (ADR 8), so
// a binding in the spoke that Infra never made gives nothing through the connector: here,
// a ClusterRoleBinding of cluster-admin to a group like kubeadm's kubeadm:cluster-admins,
// which the user also belongs to at their identity provider (a Provider named like
// kubeadm's prefix, so its group cluster-admins is <provider>:cluster-admins). Real hub,
// spoke, operator, connector and kubectl.
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyGrant, applyHub, kubectl, kubectlOk, oidcProviderObject, startTestInfra, uniqueName } from '../test/cluster.ts';
import type { Infra } from '../hack/local-infra/infra.ts';
import { eventually } from '../hack/local-infra/programs.ts';

const namespace = uniqueName('infra');
const destination = uniqueName('prod');
const web = uniqueName('web');
const alice = `${uniqueName('alice')}@example.com`;
const password = 'a long enough password';
/** A Provider that only has to exist for its groups to count; its issuer is a closed loopback port. */
const provider = uniqueName('kubeadm');
const granted = `${provider}:${uniqueName('webdevs')}`;
const kubeadmAdmins = `${provider}:cluster-admins`;
const foreignBinding = uniqueName('kubeadm-cluster-admins');
const grantName = uniqueName('webdevs-view');
let infra: Infra;

beforeAll(async () => {
  await kubectlOk('spoke', ['create', 'namespace', web]);
  await kubectlOk('spoke', ['create', 'clusterrolebinding', foreignBinding, '--clusterrole=cluster-admin', `--group=${kubeadmAdmins}`]);
  infra = await startTestInfra({ namespace, destination }, { [alice]: password });
  await applyHub([oidcProviderObject(provider, { issuer: 'https://127.0.0.1:1/idp', clientID: 'infra', secretName: provider })]);
  // The groups her identity provider reported at her last login (the User's status, as the verifier writes it).
  await kubectlOk('hub', [
    'patch',
    'user',
    `${namespace}-user-1`,
    '--subresource=status',
    '--type=merge',
    '-p',
    JSON.stringify({ status: { groups: [granted, kubeadmAdmins] } }),
  ]);
  await applyGrant(grantName, { group: granted, role: 'view', resource: `${destination}.${web}` });
}, 120_000);

afterAll(async () => {
  await kubectl('spoke', ['delete', 'clusterrolebinding', foreignBinding, '--ignore-not-found']);
  await kubectl('hub', ['delete', 'grant', grantName, '--ignore-not-found']);
  await kubectl('hub', ['delete', 'provider', provider, '--ignore-not-found']);
  await infra?.stop();
});

describe('a token for a destination', () => {
  it('carries only the groups granted there, and a spoke binding Infra did not make gives nothing through the proxy', async () => {
    // The binding would allow it, were the group impersonated.
    const wouldAllow = await kubectl('spoke', ['auth', 'can-i', 'list', 'secrets', '-n', web, '--as', alice, '--as-group', kubeadmAdmins]);
    expect(wouldAllow.stdout.trim()).toBe('yes');

    const token = await eventually(() => infra.token(alice, password));
    expect(decodeJwt(token)).toMatchObject({ sub: alice, groups: [granted] });

    const kubeconfig = await infra.proxyKubeconfig(token);
    await eventually(async () => {
      const allowed = await kubectl('spoke', ['get', 'pods', '-n', web], { kubeconfig });
      expect(allowed.code, allowed.stderr).toBe(0);
    });
    const secrets = await kubectl('spoke', ['get', 'secrets', '-n', web], { kubeconfig });
    expect(secrets.code).not.toBe(0);
    expect(secrets.stderr).toContain(`User "${alice}" cannot list resource "secrets"`);
    const nodes = await kubectl('spoke', ['get', 'nodes'], { kubeconfig });
    expect(nodes.code).not.toBe(0);
    expect(nodes.stderr).toContain('forbidden');
  });
});
