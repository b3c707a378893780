// Connector isolation, enforced by the real hub's API server (config/admission): with
// destination A's connector credentials, the hub token its connector got for its bootstrap
// credential (`infra destinations add`), nothing of
// destination B's can be changed, and every refusal names the rule. A's real connector
// keeps registering and reporting Synced under the policy, and the operator's identity,
// an admin and a GitOps tool are not affected by it.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyHub, cluster, grantObject, kubectl, kubectlOk, manifest, startTestInfra, uniqueName } from '../test/cluster.ts';
import { addDestination } from '../hack/local-infra/destinations.ts';
import type { Infra } from '../hack/local-infra/infra.ts';
import { eventually } from '../hack/local-infra/programs.ts';

const repoRoot = join(import.meta.dirname, '..');
const a = uniqueName('iso-a');
const b = uniqueName('iso-b');
const namespace = uniqueName('infra');
const grantOfA = uniqueName('grant-a');
const grantOfB = uniqueName('grant-b');
const alice = `${uniqueName('alice')}@example.com`;
/** Lets an identity write every Grant and Destination: what RBAC alone would allow if widened. */
const everyInfraWrite = uniqueName('every-infra-write');
let infra: Infra;
/** Connector A's hub kubeconfig, with the token its connector holds. */
let asA: string;

const grant = (name: string, resource: string) => grantObject(name, { user: alice, role: 'view', resource });
/** kubectl patch as connector A (its real token), or as whoever `--as` names (through the admin). */
function patch(kind: string, name: string, body: string, options: { subresource?: 'status'; as?: string } = {}) {
  const args = ['patch', kind, name, '--type', 'merge', '-p', body, ...(options.subresource ? ['--subresource', options.subresource] : [])];
  return options.as ? kubectl('hub', [...args, '--as', options.as]) : kubectl('hub', args, { kubeconfig: asA });
}

/**
 * Writes a Grant's status as the connector does, with server-side apply (a PATCH with no
 * GET first: the connector's identity may patch grants/status, not read it), as connector
 * A or as whoever `--as` names.
 */
function writeGrantStatus(name: string, options: { as?: string } = {}) {
  const args = ['apply', '--server-side', '--subresource=status', '--field-manager=isolation-test', '--force-conflicts', '-f', '-'];
  const input = manifest([{ apiVersion: 'infrahq.com/v1alpha1', kind: 'Grant', metadata: { name }, status: { observedGeneration: 1 } }]);
  return options.as ? kubectl('hub', [...args, '--as', options.as], { input }) : kubectl('hub', args, { kubeconfig: asA, input });
}

const rule = (verb: string) => `connector for destination ${a} may only ${verb}`;

function ruleForGrantStatus(name: string, owner: string) {
  return `${rule(`write the status of Grants whose destination is ${a}`)}; Grant ${name} belongs to destination ${owner}`;
}

beforeAll(async () => {
  infra = await startTestInfra({ namespace, destination: a });
  asA = await infra.connectorHubKubeconfig();
  // B's identity and Destination, as `infra destinations add` makes them; no connector runs for it.
  await addDestination(cluster('hub').adminKubeconfig, namespace, b);
  await applyHub([grant(grantOfA, a), grant(grantOfB, `${b}.web`)]);
  // The operator labels each Grant with its destination.
  await eventually(async () => {
    for (const [name, destination] of [
      [grantOfA, a],
      [grantOfB, b],
    ]) {
      expect(await kubectlOk('hub', ['get', 'grant', name!, '-o', 'jsonpath={.metadata.labels.infrahq\\.com/destination}'])).toBe(destination);
    }
  });
}, 120_000);

afterAll(async () => {
  await kubectl('hub', ['delete', 'grant', grantOfA, grantOfB, '--ignore-not-found']);
  await kubectl('hub', ['delete', 'clusterrolebinding,clusterrole', everyInfraWrite, '--ignore-not-found']);
  await kubectl('hub', ['delete', 'destination', b, '--ignore-not-found']);
  await infra?.stop();
});

describe('connector A, with the hub identity `infra destinations add` gives it', () => {
  it("is refused the status of B's Grant, with the rule", async () => {
    await eventually(async () => {
      const result = await writeGrantStatus(grantOfB);
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain(ruleForGrantStatus(grantOfB, b));
    });
  });

  it("still writes its own Grants' status: its real connector reports Synced, and kubectl as A may too", async () => {
    await eventually(async () => {
      const conditions = await kubectlOk('hub', ['get', 'grant', grantOfA, '-o', 'jsonpath={.status.conditions[?(@.type=="Synced")].status}']);
      expect(conditions).toBe('True');
    });
    const own = await writeGrantStatus(grantOfA);
    expect(own.stderr).toBe('');
    expect(own.code).toBe(0);
  });

  it('still updates its own Destination: the real connector registers, and kubectl as A may patch spec and status', async () => {
    await eventually(async () => {
      expect(await kubectlOk('hub', ['get', 'destination', a, '-o', 'jsonpath={.spec.url}'])).toBe(infra.connector.proxyURL);
      expect(await kubectlOk('hub', ['get', 'destination', a, '-o', 'jsonpath={.status.connected}'])).toBe('true');
    });
    for (const subresource of [undefined, 'status'] as const) {
      const body = subresource ? JSON.stringify({ status: { connected: true } }) : JSON.stringify({ spec: { url: infra.connector.proxyURL } });
      const own = await patch('destination', a, body, subresource ? { subresource } : {});
      expect(own.stderr, subresource ?? 'spec').toBe('');
    }
  });
});

describe('connector A, even if the hub RBAC let it write every Grant and Destination', () => {
  beforeAll(async () => {
    const role = {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: everyInfraWrite },
      rules: [{ apiGroups: ['infrahq.com'], resources: ['grants', 'grants/status', 'destinations', 'destinations/status'], verbs: ['*'] }],
    };
    const binding = {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: everyInfraWrite },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: everyInfraWrite },
      subjects: [{ kind: 'ServiceAccount', name: `connector-${a}`, namespace }],
    };
    await applyHub([role, binding]);
    // RBAC takes effect through the API server's informer: wait until A may patch a Grant's spec as far as RBAC goes.
    await eventually(async () =>
      expect((await kubectl('hub', ['auth', 'can-i', 'patch', 'grants.infrahq.com'], { kubeconfig: asA })).stdout.trim()).toBe('yes'),
    );
  });

  it("is refused B's Grant, spec and status, with the rule", async () => {
    const spec = await patch('grant', grantOfB, JSON.stringify({ spec: { role: 'cluster-admin' } }));
    expect(spec.code).not.toBe(0);
    expect(spec.stderr).toContain(`${rule('write the status of its own Grants, never a Grant itself')}; it may not update Grant ${grantOfB}`);
    const status = await writeGrantStatus(grantOfB);
    expect(status.stderr).toContain(ruleForGrantStatus(grantOfB, b));
    expect(await kubectlOk('hub', ['get', 'grant', grantOfB, '-o', 'jsonpath={.spec.role}'])).toBe('view');
  });

  it('may not change, create or delete any Grant, its own included', async () => {
    const own = await patch('grant', grantOfA, JSON.stringify({ spec: { role: 'cluster-admin' } }));
    expect(own.stderr).toContain(`it may not update Grant ${grantOfA}`);
    const created = await kubectl('hub', ['create', '-f', '-'], { kubeconfig: asA, input: manifest([grant(uniqueName('made-by-a'), a)]) });
    expect(created.stderr).toContain(rule('write the status of its own Grants, never a Grant itself'));
    const deleted = await kubectl('hub', ['delete', 'grant', grantOfB], { kubeconfig: asA });
    expect(deleted.stderr).toContain(`it may not delete Grant ${grantOfB}`);
  });

  it('is refused the status of a Grant labelled for A that names B', async () => {
    const forged = uniqueName('forged');
    await applyHub([{ ...grant(forged, b), metadata: { name: forged, labels: { 'infrahq.com/destination': a } } }]);
    try {
      const result = await writeGrantStatus(forged);
      expect(result.stderr).toContain(ruleForGrantStatus(forged, b));
    } finally {
      await kubectlOk('hub', ['delete', 'grant', forged]);
    }
  });

  it("is refused B's Destination, spec and status, and may not delete it", async () => {
    const message = `${rule('update its own Destination')}; Destination ${b} is not its own`;
    const spec = await patch('destination', b, JSON.stringify({ spec: { url: 'https://attacker.example.com' } }));
    expect(spec.stderr).toContain(message);
    const status = await patch('destination', b, JSON.stringify({ status: { connected: true } }), { subresource: 'status' });
    expect(status.stderr).toContain(message);
    const deleted = await kubectl('hub', ['delete', 'destination', b], { kubeconfig: asA });
    expect(deleted.stderr).toContain(`${rule('update its own Destination')}; it may not delete Destination ${b}`);
    expect(await kubectlOk('hub', ['get', 'destination', b, '-o', 'jsonpath={.spec.url}'])).toBe('');
  });

  it('still updates its own Destination', async () => {
    const own = await patch('destination', a, JSON.stringify({ status: { connected: true } }), { subresource: 'status' });
    expect(own.stderr).toBe('');
  });
});

describe('everyone else is not affected', () => {
  it("the operator's identity (config/rbac/operator.yaml) writes B's Grant status and Destination status", async () => {
    const installNamespace = 'infra-system';
    const manifest = await kubectlOk('hub', ['create', 'namespace', installNamespace, '--dry-run=client', '-o', 'yaml']);
    await kubectlOk('hub', ['apply', '--server-side', '-f', '-'], { input: manifest });
    await kubectlOk('hub', ['apply', '--server-side', '--force-conflicts', '-f', join(repoRoot, 'config', 'rbac', 'operator.yaml')]);
    const operator = `system:serviceaccount:${installNamespace}:infra-operator`;
    await eventually(async () => {
      expect((await writeGrantStatus(grantOfB, { as: operator })).stderr).toBe('');
      expect((await patch('destination', b, JSON.stringify({ status: { connected: false } }), { subresource: 'status', as: operator })).stderr).toBe('');
    });
  });

  it("an admin and a GitOps tool change B's Grant", async () => {
    const gitops = 'system:serviceaccount:argocd:argocd-application-controller';
    const binding = uniqueName('gitops');
    await kubectlOk('hub', ['create', 'clusterrolebinding', binding, `--clusterrole=${everyInfraWrite}`, `--user=${gitops}`]);
    try {
      await eventually(async () => expect((await patch('grant', grantOfB, JSON.stringify({ spec: { role: 'edit' } }), { as: gitops })).stderr).toBe(''));
      const admin = await kubectl('hub', ['patch', 'grant', grantOfB, '--type', 'merge', '-p', JSON.stringify({ spec: { role: 'view' } })]);
      expect(admin.stderr).toBe('');
    } finally {
      await kubectlOk('hub', ['delete', 'clusterrolebinding', binding]);
    }
  });
});
