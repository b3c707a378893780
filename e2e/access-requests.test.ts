// Access requests end to end, on the real hub and spoke with the real operator, connector
// and kubectl: a request under an AccessPolicy, its approval becoming a Grant owned by the
// request and a binding in the spoke, access ending at expiry and at once on revocation,
// and every refusal naming what refused it. The operator runs as the identity the hub's
// admission policy knows it by (config/admission/access-requests.yaml).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccessRequest, Grant } from '../api/v1alpha1/types.ts';
import { evaluateHealth } from '../hack/argocd-health.ts';
import { userKubeconfig } from '../hack/controlplane/controlplane.ts';
import { https, type HttpsResponse } from '../hack/local-infra/https.ts';
import { startInfra, type Infra } from '../hack/local-infra/infra.ts';
import { eventually } from '../hack/local-infra/programs.ts';
import { applyGrant, applyHub, cluster, kubectl, kubectlOk, uniqueName, userKubeconfigFile } from '../test/cluster.ts';
import { viewAccessPolicy } from '../test/access-requests.ts';

const api = '/apis/infrahq.com/v1alpha1';
const namespace = uniqueName('infra');
const destination = uniqueName('jit');
const policy = uniqueName('jit-policy');
const password = 'a long enough password';
const alice = `${uniqueName('alice')}@example.com`;
const bob = `${uniqueName('bob')}@example.com`;
const carol = `${uniqueName('carol')}@example.com`;
const root = `${uniqueName('root')}@example.com`;
let infra: Infra;
/** Holds the operator's hub identity: a client certificate for the ServiceAccount name the admission policy exempts. */
let operatorDir: string;
const sessions: Record<string, string> = {};

function call(email: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<HttpsResponse> {
  return https(`${infra.operator.publicURL}${api}${path}`, {
    ca: infra.operatorCA,
    method,
    headers: { authorization: `Bearer ${sessions[email]}` },
    ...(body === undefined ? {} : { body }),
  });
}

const requestBody = (spec: object, extra: object = {}) => ({ apiVersion: 'infrahq.com/v1alpha1', kind: 'AccessRequest', spec, ...extra });

async function ask(email: string, spec: object): Promise<AccessRequest> {
  const created = await call(email, 'POST', '/accessrequests', requestBody(spec));
  expect(created.status, created.text).toBe(201);
  return created.json<AccessRequest>();
}

async function liveRequest(name: string): Promise<AccessRequest> {
  return JSON.parse(await kubectlOk('hub', ['get', 'accessrequest', name, '-o', 'json'])) as AccessRequest;
}

/** The hub's Grants made for a request (by the label the operator sets). */
async function ownedGrants(name: string): Promise<Grant[]> {
  return (JSON.parse(await kubectlOk('hub', ['get', 'grants', '-l', `infrahq.com/access-request=${name}`, '-o', 'json'])) as { items: Grant[] }).items;
}

/** Whether a ClusterRoleBinding in the spoke names the user. */
async function boundInSpoke(email: string): Promise<boolean> {
  const list = JSON.parse(await kubectlOk('spoke', ['get', 'clusterrolebindings', '-l', 'app.kubernetes.io/managed-by=infra', '-o', 'json'])) as {
    items: { subjects?: { name: string }[] }[];
  };
  return list.items.some((b) => b.subjects?.some((s) => s.name === email));
}

/** kubectl through the connector's proxy as the user: 'allowed' or 'forbidden'. */
async function throughProxy(kubeconfig: string): Promise<string> {
  const result = await kubectl('spoke', ['get', 'pods', '-n', 'default'], { kubeconfig });
  if (result.code === 0) return 'allowed';
  return /forbidden/i.test(result.stderr) ? 'forbidden' : result.stderr;
}

async function approvedAndUsable(email: string, name: string): Promise<string> {
  await eventually(async () => expect(await boundInSpoke(email)).toBe(true), 30_000);
  const kubeconfig = await infra.proxyKubeconfig(await infra.token(email, password));
  await eventually(async () => expect(await throughProxy(kubeconfig)).toBe('allowed'), 15_000);
  expect((await ownedGrants(name)).map((g) => g.metadata.name)).toEqual([name]);
  return kubeconfig;
}

beforeAll(async () => {
  operatorDir = await mkdtemp(join(tmpdir(), 'infra-operator-identity-'));
  const operatorKubeconfig = join(operatorDir, 'kubeconfig');
  await writeFile(operatorKubeconfig, await userKubeconfig(cluster('hub'), `system:serviceaccount:${namespace}:infra-operator`, ['system:masters']), {
    mode: 0o600,
  });
  infra = await startInfra({
    hubKubeconfig: cluster('hub').adminKubeconfig,
    spokeKubeconfig: cluster('spoke').adminKubeconfig,
    operatorKubeconfig,
    namespace,
    destination,
    operatorConfig: { bootstrapAdmins: [root] },
  });
  for (const email of [alice, bob, carol, root]) await infra.addUser(email, password);
  await applyHub([viewAccessPolicy(policy, destination, { requesters: [alice, bob], approvers: [bob, carol] })]);
  // The connector has registered its roles, so requests can be checked against them.
  await eventually(async () => expect(await kubectlOk('hub', ['get', 'destination', destination, '-o', 'jsonpath={.status.roles}'])).toContain('view'), 30_000);
  for (const email of [alice, bob, carol, root]) {
    const login = await https(`${infra.operator.publicURL}/apis/auth.infrahq.com/v1alpha1/logins`, {
      ca: infra.operatorCA,
      body: { apiVersion: 'auth.infrahq.com/v1alpha1', kind: 'Login', spec: { email, password } },
    });
    expect(login.status, login.text).toBe(201);
    sessions[email] = login.json<{ status: { sessionKey: string } }>().status.sessionKey;
  }
  await eventually(async () => expect((await call(alice, 'GET', '/accessrequests')).status).toBe(200));
}, 180_000);

afterAll(async () => {
  await kubectl('hub', ['delete', 'accessrequests', '--all', '--wait=false']);
  await kubectl('hub', ['delete', 'accesspolicy', policy, '--ignore-not-found']);
  await infra?.stop();
  await rm(operatorDir, { recursive: true, force: true });
});

describe('a request', () => {
  it('is Pending under its policy with the caller as requester; approval makes an owned Grant; at expiry the binding goes within 5 s', async () => {
    const asked = await ask(alice, { role: 'view', resource: destination, duration: '12s', reason: 'INC-1: read the pods' });
    const name = asked.metadata.name!;
    expect(asked.status).toMatchObject({ state: 'Pending', requester: alice, policy });
    expect(await ownedGrants(name)).toEqual([]);
    expect(await evaluateHealth(await liveRequest(name))).toMatchObject({ status: 'Progressing' });

    const approved = await call(bob, 'POST', `/accessrequests/${name}/approve`, { comment: 'ok' });
    expect(approved.status, approved.text).toBe(200);
    expect(approved.json<AccessRequest>().status).toMatchObject({ state: 'Approved', reviews: [{ user: bob, decision: 'Approve', comment: 'ok' }] });
    const kubeconfig = await approvedAndUsable(alice, name);
    expect(await evaluateHealth(await liveRequest(name))).toMatchObject({ status: 'Healthy' });
    const [grant] = await ownedGrants(name);
    expect(grant!.spec).toMatchObject({ user: alice, role: 'view', resource: destination });
    expect(grant!.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'AccessRequest', name, controller: true })]);
    const expiresAt = Date.parse((await liveRequest(name)).status!.expiresAt!);
    expect(grant!.spec.expiresAt).toBe((await liveRequest(name)).status!.expiresAt);

    await eventually(async () => expect(await boundInSpoke(alice)).toBe(false), expiresAt - Date.now() + 10_000, 50);
    expect(Date.now() - expiresAt).toBeLessThanOrEqual(5_000);
    expect(await throughProxy(kubeconfig)).toBe('forbidden');
    await eventually(async () => {
      expect((await liveRequest(name)).status?.state).toBe('Expired');
      expect(await ownedGrants(name)).toEqual([]);
    });
    const events = await kubectlOk('hub', [
      'get',
      'events',
      '-n',
      'default',
      '--field-selector',
      `involvedObject.name=${name}`,
      '-o',
      'jsonpath={.items[*].reason}',
    ]);
    expect(events.split(' ')).toEqual(expect.arrayContaining(['AwaitingApproval', 'Approved', 'Expired']));
  });

  it('revoked, takes access away through the proxy within 1 s', async () => {
    const { metadata } = await ask(alice, { role: 'view', resource: destination, duration: '30m', reason: 'INC-2' });
    expect((await call(carol, 'POST', `/accessrequests/${metadata.name}/approve`, {})).status).toBe(200);
    const kubeconfig = await approvedAndUsable(alice, metadata.name!);
    const revoked = await call(bob, 'POST', `/accessrequests/${metadata.name}/revoke`, { comment: 'incident over' });
    const at = Date.now();
    expect(revoked.status, revoked.text).toBe(200);
    expect(revoked.json<AccessRequest>().status?.state).toBe('Revoked');
    await eventually(async () => expect(await throughProxy(kubeconfig)).toBe('forbidden'), 5_000, 20);
    expect(Date.now() - at).toBeLessThanOrEqual(1_000);
    expect(await ownedGrants(metadata.name!)).toEqual([]);
  });

  it('revokes a request approved a moment ago, while the operator is still recording its Grant', async () => {
    for (let i = 0; i < 5; i++) {
      const { metadata } = await ask(alice, { role: 'view', resource: `${destination}.revoked-at-once-${i}`, duration: '30m', reason: `INC-R${i}` });
      expect((await call(carol, 'POST', `/accessrequests/${metadata.name}/approve`, {})).status).toBe(200);
      const revoked = await call(bob, 'POST', `/accessrequests/${metadata.name}/revoke`, {});
      expect(revoked.status, revoked.text).toBe(200);
      expect(revoked.json<AccessRequest>().status?.state).toBe('Revoked');
    }
  });

  it('denied or cancelled, creates nothing', async () => {
    const denied = await ask(alice, { role: 'view', resource: destination, duration: '10m', reason: 'INC-3' });
    const deny = await call(carol, 'POST', `/accessrequests/${denied.metadata.name}/deny`, { comment: 'use the runbook' });
    expect(deny.json<AccessRequest>().status).toMatchObject({ state: 'Denied', message: `denied by ${carol}: use the runbook` });
    const cancelled = await ask(alice, { role: 'view', resource: destination, duration: '10m', reason: 'INC-4' });
    const cancel = await call(alice, 'POST', `/accessrequests/${cancelled.metadata.name}/cancel`, {});
    expect(cancel.json<AccessRequest>().status?.state).toBe('Cancelled');
    await new Promise((r) => setTimeout(r, 1000));
    expect([...(await ownedGrants(denied.metadata.name!)), ...(await ownedGrants(cancelled.metadata.name!))]).toEqual([]);
    expect(await boundInSpoke(alice)).toBe(false);
  });
});

describe('refusals', () => {
  const refused = async (response: Promise<HttpsResponse>, code: number, message: string | RegExp) => {
    const answer = await response;
    expect(answer.status, answer.text).toBe(code);
    expect(answer.json()['message']).toMatch(message);
  };

  it('refuses bad requests with a message that names the policy, and stores nothing', async () => {
    const before = await kubectlOk('hub', ['get', 'accessrequests', '-o', 'name']);
    const asking = (spec: object, extra: object = {}) => call(alice, 'POST', '/accessrequests', requestBody(spec, extra));
    await refused(
      asking({ role: 'view', resource: uniqueName('nowhere'), duration: '1h', reason: 'x' }),
      403,
      /^no destination is named .*infra destinations list/,
    );
    await refused(
      asking({ role: 'cluster-admin', resource: destination, duration: '1h', reason: 'x' }),
      403,
      `AccessPolicy ${policy} lets nobody request role cluster-admin on ${destination}; roles you may request there: view`,
    );
    await refused(
      asking({ role: 'no-such-role', resource: destination, duration: '1h', reason: 'x' }),
      403,
      new RegExp(`^destination ${destination} has no role no-such-role; its roles are `),
    );
    await refused(
      asking({ role: 'view', resource: destination, duration: '2h', reason: 'x' }),
      403,
      `AccessPolicy ${policy} allows at most 1h for role view on ${destination}; you asked for 2h: ask for 1h or less`,
    );
    await refused(
      asking({ role: 'view', resource: destination, duration: '1h' }),
      403,
      `AccessPolicy ${policy} requires a reason: say why you need role view on ${destination} (--reason "...")`,
    );
    await refused(
      asking({ role: 'view', resource: destination, duration: '1h', reason: 'x' }, { status: { requester: bob } }),
      403,
      `a request is always made by the one who sends it: you are ${alice}, and may not request access for "${bob}"`,
    );
    await refused(
      call(carol, 'POST', '/accessrequests', requestBody({ role: 'view', resource: destination, duration: '1h', reason: 'x' })),
      403,
      `AccessPolicy ${policy} does not let ${carol} request role view on ${destination}: only ${alice}, ${bob} may`,
    );
    await refused(
      asking({ role: 'view', resource: destination, duration: 'soon', reason: 'x' }),
      403,
      'duration "soon" is not a duration: write it like 30m, 2h or 1h30m',
    );
    expect(await kubectlOk('hub', ['get', 'accessrequests', '-o', 'name'])).toBe(before);
  });

  it('refuses approving your own request, twice, or one already decided; of two racing approvers exactly one decides', async () => {
    const own = await ask(bob, { role: 'view', resource: destination, duration: '10m', reason: 'INC-5' });
    await refused(
      call(bob, 'POST', `/accessrequests/${own.metadata.name}/approve`, {}),
      403,
      /^nobody may approve their own request, directly or through a group/,
    );
    const denied = await call(carol, 'POST', `/accessrequests/${own.metadata.name}/deny`, {});
    expect(denied.status).toBe(200);
    await refused(
      call(root, 'POST', `/accessrequests/${own.metadata.name}/approve`, {}),
      409,
      `AccessRequest ${own.metadata.name} is Denied: only a Pending request can be approved or denied`,
    );
    await refused(call(alice, 'POST', `/accessrequests/${own.metadata.name}/approve`, {}), 409, /is Denied/);

    const raced = await ask(alice, { role: 'view', resource: destination, duration: '10m', reason: 'INC-6' });
    const answers = await Promise.all([bob, carol, root].map((email) => call(email, 'POST', `/accessrequests/${raced.metadata.name}/approve`, {})));
    expect(answers.map((a) => a.status).sort()).toEqual([200, 409, 409]);
    const decided = await liveRequest(raced.metadata.name!);
    expect(decided.status?.state).toBe('Approved');
    expect(decided.status?.reviews).toHaveLength(1);
    await refused(call(bob, 'POST', `/accessrequests/${raced.metadata.name}/approve`, {}), 409, /is Approved/);
    expect((await call(alice, 'POST', `/accessrequests/${raced.metadata.name}/revoke`, {})).status).toBe(200);

    const other = await ask(alice, { role: 'view', resource: destination, duration: '10m', reason: 'INC-7' });
    await refused(call(alice, 'POST', `/accessrequests/${other.metadata.name}/approve`, {}), 403, /^nobody may approve their own request/);
    await refused(
      call(bob, 'POST', `/accessrequests/${other.metadata.name}/cancel`, {}),
      403,
      `only its requester may cancel AccessRequest ${other.metadata.name}; an approver denies it instead (infra requests deny ${other.metadata.name})`,
    );
  });

  it('refuses a request for access the requester already has', async () => {
    const grantName = uniqueName('alice-view');
    await applyGrant(grantName, { user: alice, role: 'view', resource: destination });
    try {
      await eventually(async () =>
        refused(
          call(alice, 'POST', '/accessrequests', requestBody({ role: 'view', resource: `${destination}.web`, duration: '10m', reason: 'x' })),
          403,
          `${alice} already has role view on ${destination} (Grant ${grantName}): there is nothing to request`,
        ),
      );
    } finally {
      await kubectlOk('hub', ['delete', 'grant', grantName]);
    }
  });
});

describe('straight through the hub', () => {
  it('pins the requester to the hub username, keeps the status the operator’s, and the operator admits the request', async () => {
    const kubeconfig = await userKubeconfigFile('hub', alice, ['system:masters']);
    const object = (annotations: Record<string, string>) =>
      stringify({
        apiVersion: 'infrahq.com/v1alpha1',
        kind: 'AccessRequest',
        metadata: { name: uniqueName('kubectl-made'), annotations },
        spec: { role: 'view', resource: destination, duration: '10m', reason: 'from kubectl' },
      });
    const forged = await kubectl('hub', ['create', '-f', '-'], { kubeconfig, input: object({ 'infrahq.com/requester': bob }) });
    expect(forged.code).toBe(1);
    expect(forged.stderr).toContain(`must name its requester, and that is you: set the annotation infrahq.com/requester to ${alice}, not ${bob}`);
    const missing = await kubectl('hub', ['create', '-f', '-'], { kubeconfig, input: object({}) });
    expect(missing.stderr).toContain(`set the annotation infrahq.com/requester to ${alice} (it is missing)`);

    const name = (
      await kubectlOk('hub', ['create', '-f', '-', '-o', 'jsonpath={.metadata.name}'], { kubeconfig, input: object({ 'infrahq.com/requester': alice }) })
    ).trim();
    await eventually(async () => expect((await liveRequest(name)).status).toMatchObject({ state: 'Pending', requester: alice, policy }));
    const changed = await kubectl('hub', ['annotate', 'accessrequest', name, '--overwrite', `infrahq.com/requester=${bob}`], { kubeconfig });
    expect(changed.stderr).toContain(`the requester of AccessRequest ${name} cannot change: the annotation infrahq.com/requester stays ${alice}`);
    const approved = await kubectl('hub', ['patch', 'accessrequest', name, '--subresource=status', '--type=merge', '-p', '{"status":{"state":"Approved"}}'], {
      kubeconfig,
    });
    expect(approved.stderr).toContain(`only the Infra operator writes the status of AccessRequest ${name}`);
    expect((await liveRequest(name)).status?.state).toBe('Pending');
    const table = await kubectlOk('hub', ['get', 'accessrequest', name]);
    expect(table).toMatch(
      new RegExp(`^NAME\\s+USER\\s+ROLE\\s+RESOURCE\\s+DURATION\\s+STATE\\s+AGE\\n${name}\\s+${alice}\\s+view\\s+${destination}\\s+10m\\s+Pending\\s`),
    );
  });
});
