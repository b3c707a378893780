// Infra's Argo CD health check (config/argocd/health.lua), run by Argo CD's own Lua
// interpreter on live objects: a real operator, connector and OpenID Provider put each
// kind into the states a platform team will see, and the check must call them Healthy,
// Progressing or Degraded. With INFRA_UPDATE_FIXTURES=1 the objects are also written to
// config/argocd/testdata, where hack/argocd-health.test.ts checks them on every run.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluateHealth, type Health } from '../hack/argocd-health.ts';
import { hashPassword } from '../operator/credentials/passwords.ts';
import { applyHub, cluster, createProviderSecret, grantObject, kubectl, kubectlOk, oidcProviderObject, uniqueName } from '../test/cluster.ts';
import { startInfra, type Infra } from '../hack/local-infra/infra.ts';
import { startOIDCProvider, type TestOP } from '../test/oidc-provider.ts';
import { eventually } from '../hack/local-infra/programs.ts';

const testdata = join(import.meta.dirname, '..', 'config', 'argocd', 'testdata');
const operatorNamespace = uniqueName('infra');
const unreachableIssuer = 'https://127.0.0.1:1/idp';
const destination = uniqueName('argo');
const names = {
  grantBound: uniqueName('grant-bound'),
  grantWaiting: uniqueName('grant-waiting'),
  grantNowhere: uniqueName('grant-nowhere'),
  grantExpired: uniqueName('grant-expired'),
  grantNoRole: uniqueName('grant-norole'),
  grantNoNamespace: uniqueName('grant-nons'),
  destinationNever: uniqueName('never'),
  destinationMissing: uniqueName('nowhere'),
  userPassword: uniqueName('user-pw'),
  userMissingSecret: uniqueName('user-nosecret'),
  group: uniqueName('group'),
  providerReady: uniqueName('idp-ready'),
  providerUnreachable: uniqueName('idp-down'),
};
let infra: Infra;
let op: TestOP;

const plural: Record<string, string> = { Grant: 'grant', User: 'user', Group: 'group', Provider: 'provider', Destination: 'destination' };

async function live(kind: string, name: string): Promise<Record<string, unknown>> {
  return JSON.parse(await kubectlOk('hub', ['get', plural[kind]!, name, '-o', 'json'])) as Record<string, unknown>;
}

/** Waits until the live object's health is `expected`; records it as a fixture when asked. */
async function expectHealth(kind: string, name: string, expected: Health['status'], fixture: string): Promise<Health> {
  let health: Health | undefined;
  let object: Record<string, unknown> = {};
  await eventually(async () => {
    object = await live(kind, name);
    health = await evaluateHealth(object);
    expect(health.status).toBe(expected);
  }, 30_000);
  if (process.env.INFRA_UPDATE_FIXTURES === '1') {
    const { managedFields: _, uid: __, resourceVersion: ___, ...metadata } = object.metadata as Record<string, unknown>;
    await writeFile(
      join(testdata, `${fixture}.json`),
      `${JSON.stringify({ ...object, metadata, expected: { status: expected, message: health!.message } }, null, 2)}\n`,
    );
  }
  return health!;
}

beforeAll(async () => {
  op = await startOIDCProvider();
  infra = await startInfra({
    hubKubeconfig: cluster('hub').adminKubeconfig,
    spokeKubeconfig: cluster('spoke').adminKubeconfig,
    namespace: operatorNamespace,
    destination,
    operatorEnv: { NODE_EXTRA_CA_CERTS: op.caFile },
  });
  for (const [name, provider, issuer] of [
    ['idp-ready', names.providerReady, op.issuer],
    ['idp-down', names.providerUnreachable, unreachableIssuer],
  ] as const) {
    await createProviderSecret(operatorNamespace, { name, provider, issuer, clientSecret: op.client.secret });
  }
  await kubectlOk('hub', ['create', 'secret', 'generic', 'pw', '-n', operatorNamespace, `--from-literal=hash=${await hashPassword('a long enough password')}`]);
  const objects = [
    grantObject(names.grantBound, { user: 'ann@example.com', role: 'view', resource: destination }),
    grantObject(names.grantWaiting, { user: 'ann@example.com', role: 'view', resource: names.destinationNever }),
    grantObject(names.grantNowhere, { user: 'ann@example.com', role: 'view', resource: names.destinationMissing }),
    grantObject(names.grantExpired, { user: 'ann@example.com', role: 'view', resource: destination, expiresAt: '2020-01-01T00:00:00Z' }),
    grantObject(names.grantNoRole, { user: 'ann@example.com', role: 'no-such-role', resource: destination }),
    grantObject(names.grantNoNamespace, { user: 'ann@example.com', role: 'view', resource: `${destination}.not-yet` }),
    { apiVersion: 'infrahq.com/v1alpha1', kind: 'Destination', metadata: { name: names.destinationNever }, spec: { kind: 'kubernetes' } },
    {
      apiVersion: 'infrahq.com/v1alpha1',
      kind: 'User',
      metadata: { name: names.userPassword },
      spec: { email: `${names.userPassword}@example.com`, passwordSecretRef: { name: 'pw', key: 'hash' } },
    },
    {
      apiVersion: 'infrahq.com/v1alpha1',
      kind: 'User',
      metadata: { name: names.userMissingSecret },
      spec: { email: `${names.userMissingSecret}@example.com`, passwordSecretRef: { name: 'no-such-secret', key: 'hash' } },
    },
    { apiVersion: 'infrahq.com/v1alpha1', kind: 'Group', metadata: { name: names.group }, spec: { members: [`${names.userPassword}@example.com`] } },
    oidcProviderObject(names.providerReady, { issuer: op.issuer, clientID: op.client.id, secretName: 'idp-ready' }),
    oidcProviderObject(names.providerUnreachable, { issuer: unreachableIssuer, clientID: 'infra', secretName: 'idp-down' }),
  ];
  await applyHub(objects, ['--server-side']);
}, 120_000);

afterAll(async () => {
  await kubectl('hub', [
    'delete',
    'grants',
    '--ignore-not-found',
    names.grantBound,
    names.grantWaiting,
    names.grantNowhere,
    names.grantExpired,
    names.grantNoRole,
    names.grantNoNamespace,
  ]);
  await kubectl('hub', ['delete', 'users', '--ignore-not-found', names.userPassword, names.userMissingSecret]);
  await kubectl('hub', ['delete', 'providers', '--ignore-not-found', names.providerReady, names.providerUnreachable]);
  await kubectl('hub', ['delete', 'group', '--ignore-not-found', names.group]);
  await kubectl('hub', ['delete', 'destination', '--ignore-not-found', names.destinationNever]);
  await infra?.stop();
  await op?.close();
});

describe("Argo CD's view of live Infra objects", () => {
  it('Grants: bound in the destination is Healthy, waiting for its connector is Progressing, an unknown destination or expiry is Degraded', async () => {
    expect((await expectHealth('Grant', names.grantBound, 'Healthy', 'grant-healthy')).message).toBe(
      `bound by ClusterRoleBinding infra:view in ${destination}`,
    );
    expect((await expectHealth('Grant', names.grantWaiting, 'Progressing', 'grant-progressing')).message).toContain(
      `destination ${names.destinationNever} has no connector yet`,
    );
    expect((await expectHealth('Grant', names.grantNowhere, 'Degraded', 'grant-degraded-destination-not-found')).message).toContain(
      `no Destination named ${names.destinationMissing}`,
    );
    expect((await expectHealth('Grant', names.grantExpired, 'Degraded', 'grant-degraded')).message).toContain('expired at 2020-01-01T00:00:00Z');
  });

  it('Grants the connector cannot bind: a missing role is Degraded, a namespace still to come is Progressing', async () => {
    expect((await expectHealth('Grant', names.grantNoRole, 'Degraded', 'grant-degraded-role-not-found')).message).toContain(
      'ClusterRole no-such-role does not exist',
    );
    expect((await expectHealth('Grant', names.grantNoNamespace, 'Progressing', 'grant-progressing-namespace-not-found')).message).toContain(
      'namespace not-yet does not exist',
    );
  });

  it('Destinations: connected is Healthy, never connected is Progressing', async () => {
    await expectHealth('Destination', destination, 'Healthy', 'destination-healthy');
    expect((await expectHealth('Destination', names.destinationNever, 'Progressing', 'destination-progressing')).message).toContain(
      'no connector has registered',
    );
  });

  it('Users and Groups: a usable password is Healthy, a missing password Secret is Degraded', async () => {
    await expectHealth('User', names.userPassword, 'Healthy', 'user-healthy');
    expect((await expectHealth('User', names.userMissingSecret, 'Degraded', 'user-degraded')).message).toContain('no-such-secret');
    await expectHealth('Group', names.group, 'Healthy', 'group-healthy');
  });

  it('Providers: accepted by a real OpenID Provider is Healthy, an unreachable issuer is Degraded', async () => {
    await expectHealth('Provider', names.providerReady, 'Healthy', 'provider-healthy');
    expect((await expectHealth('Provider', names.providerUnreachable, 'Degraded', 'provider-degraded')).message).toContain('cannot reach');
  });
});
