// Access requests under random histories, against the real hub and the real operator:
// request, approve, deny, cancel, revoke, a Grant deleted by hand, waiting through expiry
// and the pending timeout, and operator restarts, in any order. After every step the two
// invariants of issue 25 must hold once the operator has caught up:
//   1. no Grant owned by a request exists unless that request is Approved and not past expiresAt;
//   2. no Approved request outlives its Grant.
// Beside them, the lifecycle rules that need the short timeouts this file configures:
// auto-approval, the pending timeout, a destination deleted while pending, retention.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccessRequest, Grant } from '../api/v1alpha1/types.ts';
import { userKubeconfig } from '../hack/controlplane/controlplane.ts';
import { https, type HttpsResponse } from '../hack/local-infra/https.ts';
import { eventually, startOperator, type RunningOperator } from '../hack/local-infra/programs.ts';
import { hashPassword } from '../operator/credentials/passwords.ts';
import { applyHub, cluster, kubectl, kubectlOk, operatorServingCA, uniqueName } from '../test/cluster.ts';

const api = '/apis/infrahq.com/v1alpha1';
const namespace = uniqueName('infra');
const destination = uniqueName('prop');
const doomed = uniqueName('doomed');
const policy = uniqueName('prop-policy');
const oncallPolicy = uniqueName('oncall-policy');
const oncall = uniqueName('oncall');
const password = 'a long enough password';
const alice = `${uniqueName('alice')}@example.com`;
const bob = `${uniqueName('bob')}@example.com`;
const olivia = `${uniqueName('olivia')}@example.com`;
const pendingTimeoutMs = 6_000;
const retentionMs = 4_000;
let operator: RunningOperator;
let operatorCA: string;
let dir: string;
let operatorKubeconfig: string;
const sessions: Record<string, string> = {};

async function start(): Promise<RunningOperator> {
  return startOperator({
    kubeconfig: operatorKubeconfig,
    namespace,
    identity: 'access-requests-operator',
    config: { accessRequests: { pendingTimeout: `${pendingTimeoutMs}ms`, retention: `${retentionMs}ms` } },
  });
}

function call(email: string, path: string, body: unknown = {}): Promise<HttpsResponse> {
  return https(`${operator.publicURL}${api}/accessrequests${path}`, { ca: operatorCA, headers: { authorization: `Bearer ${sessions[email]}` }, body });
}

const requestBody = (spec: object) => ({ apiVersion: 'infrahq.com/v1alpha1', kind: 'AccessRequest', spec });

async function requests(): Promise<AccessRequest[]> {
  return (JSON.parse(await kubectlOk('hub', ['get', 'accessrequests', '-o', 'json'])) as { items: AccessRequest[] }).items;
}

async function requestGrants(): Promise<Grant[]> {
  return (JSON.parse(await kubectlOk('hub', ['get', 'grants', '-l', 'infrahq.com/access-request', '-o', 'json'])) as { items: Grant[] }).items;
}

/** The two invariants over the hub as it is now; the slack covers the operator's reaction time. */
async function invariantsHold(slackMs: number): Promise<void> {
  const [all, grants] = await Promise.all([requests(), requestGrants()]);
  const now = Date.now();
  const byName = new Map(all.map((r) => [r.metadata.name!, r]));
  for (const grant of grants) {
    const owner = byName.get(grant.metadata.labels!['infrahq.com/access-request']!);
    expect(owner?.status?.state, `Grant ${grant.metadata.name}: its request must be Approved`).toBe('Approved');
    expect(Date.parse(owner!.status!.expiresAt!) + slackMs, `Grant ${grant.metadata.name} outlives its request's expiresAt`).toBeGreaterThan(now);
  }
  const grantNames = new Set(grants.map((g) => g.metadata.name));
  for (const request of all.filter((r) => r.status?.state === 'Approved')) {
    if (request.status?.grant !== undefined) expect(grantNames.has(request.status.grant), `Approved ${request.metadata.name} has no Grant`).toBe(true);
    expect(Date.parse(request.status!.expiresAt!) + slackMs, `${request.metadata.name} is still Approved after expiresAt`).toBeGreaterThan(now);
  }
}

async function login(email: string): Promise<string> {
  const answer = await https(`${operator.publicURL}/apis/auth.infrahq.com/v1alpha1/logins`, {
    ca: operatorCA,
    body: { apiVersion: 'auth.infrahq.com/v1alpha1', kind: 'Login', spec: { email, password } },
  });
  expect(answer.status, answer.text).toBe(201);
  return answer.json<{ status: { sessionKey: string } }>().status.sessionKey;
}

beforeAll(async () => {
  await kubectlOk('hub', ['create', 'namespace', namespace]);
  dir = await mkdtemp(join(tmpdir(), 'infra-properties-'));
  operatorKubeconfig = join(dir, 'operator.kubeconfig');
  await writeFile(operatorKubeconfig, await userKubeconfig(cluster('hub'), `system:serviceaccount:${namespace}:infra-operator`, ['system:masters']), {
    mode: 0o600,
  });
  await kubectlOk('hub', ['create', 'secret', 'generic', 'passwords', '-n', namespace, `--from-literal=hash=${await hashPassword(password)}`]);
  const objects = [
    ...[alice, bob, olivia].map((email, i) => ({
      apiVersion: 'infrahq.com/v1alpha1',
      kind: 'User',
      metadata: { name: `${namespace}-user-${i}` },
      spec: { email, passwordSecretRef: { name: 'passwords', key: 'hash' } },
    })),
    { apiVersion: 'infrahq.com/v1alpha1', kind: 'Group', metadata: { name: oncall }, spec: { members: [olivia] } },
    ...[destination, doomed].map((name) => ({ apiVersion: 'infrahq.com/v1alpha1', kind: 'Destination', metadata: { name }, spec: { kind: 'kubernetes' } })),
    {
      apiVersion: 'infrahq.com/v1alpha1',
      kind: 'AccessPolicy',
      metadata: { name: policy },
      spec: { resources: [destination, doomed], roles: ['view'], requesters: { users: [alice] }, maxDuration: '1h', approvers: { users: [bob] } },
    },
    {
      apiVersion: 'infrahq.com/v1alpha1',
      kind: 'AccessPolicy',
      metadata: { name: oncallPolicy },
      spec: { resources: [`${destination}.*`], roles: ['edit'], requesters: { groups: [oncall] }, maxDuration: '1h', autoApprove: { groups: [oncall] } },
    },
  ];
  await applyHub(objects);
  operator = await start();
  operatorCA = await operatorServingCA(namespace);
  for (const email of [alice, bob, olivia]) sessions[email] = await login(email);
}, 120_000);

afterAll(async () => {
  await operator?.stop();
  await kubectl('hub', ['delete', 'accessrequests', '--all', '--wait=false']);
  await kubectl('hub', ['delete', 'accesspolicies', policy, oncallPolicy, '--ignore-not-found']);
  await kubectl('hub', ['delete', 'destinations', destination, doomed, '--ignore-not-found']);
  await kubectl('hub', ['delete', 'group', oncall, '--ignore-not-found']);
  await rm(dir, { recursive: true, force: true });
});

describe('lifecycle', () => {
  it('approves a member of an auto-approve group at once, with a Grant', async () => {
    const created = await call(olivia, '', requestBody({ role: 'edit', resource: `${destination}.web`, duration: '10m' }));
    expect(created.status, created.text).toBe(201);
    const name = created.json<AccessRequest>().metadata.name!;
    await eventually(async () => {
      const [request] = (await requests()).filter((r) => r.metadata.name === name);
      expect(request?.status).toMatchObject({ state: 'Approved', requester: olivia, policy: oncallPolicy, grant: name });
      expect(request?.status?.message).toBe(`approved at once: ${olivia} is in an auto-approve group of AccessPolicy ${oncallPolicy}`);
    });
    expect((await requestGrants()).map((g) => g.metadata.name)).toContain(name);
    expect((await call(olivia, `/${name}/revoke`)).status).toBe(200);
  });

  it('lets a request nobody decides lapse after the pending timeout, denies one whose destination goes, and deletes ended requests after the retention', async () => {
    const lapsing = (await call(alice, '', requestBody({ role: 'view', resource: destination, duration: '10m' }))).json<AccessRequest>().metadata.name!;
    const orphaned = (await call(alice, '', requestBody({ role: 'view', resource: doomed, duration: '10m' }))).json<AccessRequest>().metadata.name!;
    await kubectlOk('hub', ['delete', 'destination', doomed]);
    const state = async (name: string) => (await requests()).find((r) => r.metadata.name === name)?.status;
    await eventually(async () =>
      expect(await state(orphaned)).toMatchObject({
        state: 'Denied',
        message: `destination ${doomed} was deleted while the request was pending; nothing was granted`,
      }),
    );
    await eventually(
      async () =>
        expect(await state(lapsing)).toMatchObject({ state: 'Expired', message: expect.stringMatching(/^nobody decided within the pending timeout/) }),
      pendingTimeoutMs + 5_000,
    );
    const refused = await call(bob, `/${lapsing}/approve`);
    expect(refused.json()['message']).toBe(`AccessRequest ${lapsing} is Expired: only a Pending request can be approved or denied`);
    await eventually(async () => expect(await state(lapsing)).toBeUndefined(), retentionMs + 5_000);
  });
});

type Step =
  | { kind: 'request'; seconds: number }
  | { kind: 'approve' | 'deny' | 'cancel' | 'revoke' | 'delete-grant'; pick: number }
  | { kind: 'wait'; ms: number }
  | { kind: 'restart' };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('request' as const), seconds: fc.integer({ min: 2, max: 6 }) }) },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constantFrom('approve' as const, 'deny' as const, 'cancel' as const, 'revoke' as const, 'delete-grant' as const),
      pick: fc.nat(),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 300, max: 3_000 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('restart' as const) }) },
);

describe('random histories', () => {
  it('keep both invariants: no Grant without an Approved, unexpired request; no Approved request without its Grant', async () => {
    const deadline = Date.now() + 60_000;
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 4, maxLength: 10 }), async (steps) => {
        const made: string[] = [];
        for (const s of steps) {
          if (Date.now() > deadline) return;
          const target = 'pick' in s && made.length > 0 ? made[s.pick % made.length]! : undefined;
          switch (s.kind) {
            case 'request': {
              const created = await call(alice, '', requestBody({ role: 'view', resource: destination, duration: `${s.seconds}s` }));
              // Refused only as "already has access" while an earlier request's Grant is live.
              if (created.status === 201) made.push(created.json<AccessRequest>().metadata.name!);
              else expect(created.json()['message']).toMatch(/already has role view/);
              break;
            }
            case 'approve':
            case 'deny':
            case 'revoke':
              if (target) expect([200, 403, 404, 409]).toContain((await call(bob, `/${target}/${s.kind}`)).status);
              break;
            case 'cancel':
              if (target) expect([200, 404, 409]).toContain((await call(alice, `/${target}/cancel`)).status);
              break;
            case 'delete-grant':
              if (target) await kubectl('hub', ['delete', 'grant', target, '--ignore-not-found', '--wait=false']);
              break;
            case 'wait':
              await new Promise((r) => setTimeout(r, s.ms));
              break;
            case 'restart':
              await operator.stop();
              operator = await start();
              break;
          }
          await eventually(() => invariantsHold(1_500), 10_000, 200);
        }
      }),
      { numRuns: 4, endOnFailure: true },
    );
  }, 120_000);
});
