// infra-operator over time: signing keys rotate without breaking tokens in flight, and
// a standby replica takes over when the leader dies.
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { hashPassword } from '../operator/credentials/passwords.ts';
import { applyGrant, applyHub, cluster, grantObject, kubectlOk, operatorServingCA, uniqueName } from '../test/cluster.ts';
import { https } from '../hack/local-infra/https.ts';
import { eventually, startOperator, type RunningOperator } from '../hack/local-infra/programs.ts';

const running: RunningOperator[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((o) => o.stop()));
});

async function namespaceWithUser(): Promise<{ ns: string; email: string; password: string; destination: string }> {
  const ns = uniqueName('infra');
  const email = `${uniqueName('kim')}@example.com`;
  const password = 'rotate me please';
  const destination = uniqueName('dest');
  await kubectlOk('hub', ['create', 'namespace', ns]);
  await kubectlOk('hub', ['create', 'secret', 'generic', 'pw', '-n', ns, `--from-literal=hash=${await hashPassword(password)}`]);
  await applyHub([
    {
      apiVersion: 'infrahq.com/v1alpha1',
      kind: 'User',
      metadata: { name: uniqueName('kim') },
      spec: { email, passwordSecretRef: { name: 'pw', key: 'hash' } },
    },
    grantObject(uniqueName('kim-view'), { user: email, role: 'view', resource: destination }),
  ]);
  return { ns, email, password, destination };
}

describe('signing key rotation', () => {
  it('keeps verifying tokens signed before a rotation until they expire, then drops the old key', async () => {
    const { ns, email, password, destination } = await namespaceWithUser();
    const operator = await startOperator({
      kubeconfig: cluster('hub').adminKubeconfig,
      namespace: ns,
      config: { tokens: { lifetime: '30s', keyRotationInterval: '8s', clockSkew: '1s' } },
    });
    running.push(operator);
    const ca = await operatorServingCA(ns);
    const post = (kind: string, plural: string, spec: object, key?: string) =>
      https(`${operator.publicURL}/apis/auth.infrahq.com/v1alpha1/${plural}`, {
        ca,
        headers: key ? { authorization: `Bearer ${key}` } : {},
        body: { apiVersion: 'auth.infrahq.com/v1alpha1', kind, spec },
      });
    const jwks = async () => (await https(`${operator.publicURL}/openid/v1/jwks`, { ca })).json<JSONWebKeySet>();
    const kids = async () => (await jwks()).keys.map((k) => k.kid);
    const verify = async (token: string) => jwtVerify(token, createLocalJWKSet(await jwks()), { issuer: operator.publicURL, audience: destination });

    const session = await eventually(async () => {
      const res = await post('Login', 'logins', { email, password });
      expect(res.status, res.text).toBe(201);
      return res.json<{ status: { sessionKey: string } }>().status.sessionKey;
    });
    const issue = async () => (await post('TokenRequest', 'tokenrequests', { destination }, session)).json<{ status: { token: string } }>().status.token;
    const before = await issue();
    const oldKid = decodeProtectedHeader(before).kid!;
    expect(await kids()).toEqual([oldKid]);

    // Rotated: a new key signs, and the old one is still published.
    await eventually(
      async () => {
        const published = await kids();
        expect(published).toContain(oldKid);
        expect(published.length).toBeGreaterThan(1);
      },
      20_000,
      250,
    );
    const after = await issue();
    expect(decodeProtectedHeader(after).kid).not.toBe(oldKid);
    await expect(verify(before)).resolves.toMatchObject({ payload: { sub: email } });
    await expect(verify(after)).resolves.toMatchObject({ payload: { sub: email } });

    // Once every token the old key signed has expired (30 s lifetime + 1 s skew), it leaves the JWKS.
    await eventually(async () => expect(await kids()).not.toContain(oldKid), 60_000, 500);
    await expect(verify(before)).rejects.toThrow();
  }, 120_000);
});

describe('leader election', () => {
  it('hands the controllers to the standby within 15 s of the leader being killed', async () => {
    const { ns, email } = await namespaceWithUser();
    const [first, second] = await Promise.all([
      startOperator({ kubeconfig: cluster('hub').adminKubeconfig, namespace: ns, identity: 'replica-a' }),
      startOperator({ kubeconfig: cluster('hub').adminKubeconfig, namespace: ns, identity: 'replica-b' }),
    ]);
    running.push(first, second);
    const holder = () => kubectlOk('hub', ['get', 'lease', '-n', ns, 'infra-operator', '-o', 'jsonpath={.spec.holderIdentity}']);
    const leaderIdentity = await eventually(async () => {
      const identity = await holder();
      expect(['replica-a', 'replica-b']).toContain(identity);
      return identity;
    });
    const [leader, standby] = leaderIdentity === 'replica-a' ? [first, second] : [second, first];

    await leader.kill();
    const killedAt = Date.now();
    // A Grant created after the leader died is reconciled only once the standby leads.
    const grant = uniqueName('after-failover');
    await applyGrant(grant, { user: email, role: 'edit', resource: uniqueName('somewhere') });
    await eventually(
      async () => {
        expect(await holder()).toBe(standby.identity);
        const labels = await kubectlOk('hub', ['get', 'grant', grant, '-o', 'jsonpath={.metadata.labels}']);
        expect(labels).toContain('infrahq.com/destination');
        const reason = await kubectlOk('hub', ['get', 'grant', grant, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].reason}']);
        expect(reason).toBe('DestinationNotFound');
      },
      20_000,
      200,
    );
    const tookOverInMs = Date.now() - killedAt;
    expect(tookOverInMs, `the standby took over and reconciled ${tookOverInMs} ms after the kill`).toBeLessThan(15_000);
    console.info(`leader failover: standby reconciled ${tookOverInMs} ms after the leader was killed`);
    const standbyLog = standby.logs.join('\n');
    expect(standbyLog).toContain('leading: starting controllers');
  }, 60_000);
});
