// The opt-in guardrails of config/guardrails, enforced by the real hub's API server: each
// rule refuses what breaks it with a message that names the rule and says what to do, and
// lets the compliant object through. They are installed as a platform team would (the
// component, rendered by kubectl kustomize), into this suite's namespace, and removed
// after it, so no other suite's Grants meet them.
//
// Removing them must not break the hub for the next run on the same API server (kind's hub
// lives across runs): kube-apiserver 1.36 stops its ConfigMap-parameter informer for good
// once no binding uses ConfigMap parameters (kubernetes#130887). A binding that matches no
// request and stays behind keeps that informer alive.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kustomizeOverlay, type KubernetesObject } from '../hack/chart/kustomize.ts';
import { eventually } from '../hack/local-infra/programs.ts';
import { grantObject, kubectl, kubectlOk, manifest, uniqueName } from '../test/cluster.ts';

const namespace = uniqueName('guardrails');
const operator = `system:serviceaccount:${namespace}:infra-operator`;
/** Lets its members write AccessPolicies as far as the hub's RBAC goes. */
const policyWriters = uniqueName('policy-writers');
const hours = (n: number) => new Date(Date.now() + n * 3_600_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
const created: string[] = [];

const apply = (objects: object[], as: string[] = []) => kubectl('hub', ['apply', '-f', '-', ...as], { input: manifest(objects) });

function grant(role: string, expiresAt?: string) {
  const name = uniqueName(`guard-${role}`);
  created.push(name);
  return grantObject(name, { user: 'alice@example.com', role, resource: 'production', ...(expiresAt ? { expiresAt } : {}) });
}

// A custom role a platform team adds to the expiry rule alone. cluster-admin is in both
// shipped rules, and when two policies refuse one request the API server names whichever
// it evaluated first, in no fixed order; the expiry rule's own tests use this role.
const breakGlass = 'break-glass';
/** A break-glass Grant with no end, made before the guardrails were installed. */
const legacy = grant(breakGlass);
/** The guardrails as config/guardrails renders, in this suite's namespace instead of infra-system. */
let guardrails: KubernetesObject[];
const accessPolicy = (name: string, maxDuration: string) => ({
  apiVersion: 'infrahq.com/v1alpha1',
  kind: 'AccessPolicy',
  metadata: { name },
  spec: { resources: ['production'], roles: ['view'], requesters: { groups: ['oncall'] }, maxDuration },
});

/** A policy and binding with ConfigMap parameters that match no request: see the top of this file. */
const parameterKeeper = [
  {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicy',
    metadata: { name: 'infra-e2e-configmap-parameter-keeper' },
    spec: {
      failurePolicy: 'Ignore',
      paramKind: { apiVersion: 'v1', kind: 'ConfigMap' },
      // Grants are never the object of a CONNECT.
      matchConstraints: { resourceRules: [{ apiGroups: ['infrahq.com'], apiVersions: ['*'], operations: ['CONNECT'], resources: ['grants'] }] },
      validations: [{ expression: 'true' }],
    },
  },
  {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicyBinding',
    metadata: { name: 'infra-e2e-configmap-parameter-keeper' },
    spec: {
      policyName: 'infra-e2e-configmap-parameter-keeper',
      validationActions: ['Deny'],
      paramRef: { namespace: 'kube-system', selector: { matchLabels: { 'infrahq.com/e2e': 'none' } }, parameterNotFoundAction: 'Allow' },
    },
  },
];

/** The guardrails in force, or an error that says why this hub cannot enforce them. */
async function guardrailsEnforced(): Promise<void> {
  try {
    await eventually(async () => {
      expect((await apply([grant(breakGlass)])).stderr).toContain('guardrail infra-grant-expiry-required');
      expect((await apply([grant('cluster-admin', hours(9))])).stderr).toContain('guardrail infra-grant-max-lifetime');
    });
  } catch (error) {
    const { stderr } = await apply([grant(breakGlass)]);
    if (!stderr.includes('no params found for policy binding')) throw error;
    throw new Error(
      "the hub's kube-apiserver no longer reads ConfigMap parameters: an earlier run removed every binding that used them " +
        '(kubernetes#130887). Restart it (on kind: docker restart infra-hub-control-plane) and run again.',
      { cause: error },
    );
  }
}

beforeAll(async () => {
  await kubectlOk('hub', ['create', 'namespace', namespace]);
  expect((await apply(parameterKeeper)).stderr).toBe('');
  expect((await apply([legacy])).stderr).toBe('');
  const rendered = await kustomizeOverlay([], ['guardrails']);
  expect(JSON.stringify(rendered)).toContain('"namespace":"infra-system"');
  guardrails = rendered.map((o) => JSON.parse(JSON.stringify(o).replaceAll('infra-system', namespace)) as KubernetesObject);
  const expiryRoles = guardrails.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'infra-guardrail-grant-expiry-required') as
    (KubernetesObject & { data: { roles: string } }) | undefined;
  expect(expiryRoles?.data.roles).toBe('cluster-admin');
  expiryRoles!.data.roles = `cluster-admin, ${breakGlass}`;
  const writers = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: policyWriters },
    rules: [{ apiGroups: ['infrahq.com'], resources: ['accesspolicies'], verbs: ['*'] }],
  };
  const binding = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: policyWriters },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: policyWriters },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: policyWriters }],
  };
  // A second max-lifetime rule, as a platform team adds one: a labelled ConfigMap, no new binding.
  const editFor2h = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'edit-for-2h', namespace, labels: { 'infrahq.com/guardrail': 'grant-max-lifetime' } },
    data: { roles: 'edit, admin', maxLifetime: '2h' },
  };
  const result = await apply([...guardrails, writers, binding, editFor2h]);
  expect(result.stderr).toBe('');
  // The API server loads policies, bindings and parameters through informers.
  await guardrailsEnforced();
}, 120_000);

afterAll(async () => {
  const remove = guardrails?.filter((o) => o.kind !== 'ConfigMap').map((o) => `${o.kind.toLowerCase()}/${o.metadata.name}`) ?? [];
  if (remove.length > 0) await kubectl('hub', ['delete', ...remove, '--ignore-not-found']);
  await kubectl('hub', ['delete', 'clusterrole,clusterrolebinding', policyWriters, '--ignore-not-found']);
  if (created.length > 0) await kubectl('hub', ['delete', 'grant', ...created, '--ignore-not-found']);
  await kubectl('hub', ['delete', 'namespace', namespace, '--wait=false']);
});

describe('guardrail infra-grant-expiry-required', () => {
  it('refuses a Grant of a listed role without expiresAt, naming the rule and the fix', async () => {
    const result = await apply([grant(breakGlass)]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(
      `guardrail infra-grant-expiry-required (ConfigMap infra-guardrail-grant-expiry-required): a Grant for role ${breakGlass} must end; set spec.expiresAt`,
    );
    // cluster-admin is in both shipped rules: either may be the one that answers.
    const clusterAdmin = await apply([grant('cluster-admin')]);
    expect(clusterAdmin.code).not.toBe(0);
    expect(clusterAdmin.stderr).toMatch(
      /guardrail infra-grant-(expiry-required|max-lifetime) .*: a Grant for role cluster-admin (must end|may last at most 8h)/,
    );
  });

  it('allows a Grant of a listed role that ends, and a Grant of another role that does not', async () => {
    const ending = grant(breakGlass, hours(1));
    const forever = grant('view');
    expect((await apply([ending, forever])).stderr).toBe('');
    // Removing the end later is a change of the spec, checked as a create is.
    const unending = await kubectl('hub', ['patch', 'grant', ending.metadata.name, '--type', 'json', '-p', '[{"op":"remove","path":"/spec/expiresAt"}]']);
    expect(unending.stderr).toContain('guardrail infra-grant-expiry-required');
  });
});

describe('guardrail infra-grant-max-lifetime', () => {
  it('refuses a cluster-admin Grant that ends more than 8h after its creation, saying the latest end allowed', async () => {
    const result = await apply([grant('cluster-admin', hours(9))]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(
      /guardrail infra-grant-max-lifetime \(ConfigMap infra-guardrail-grant-max-lifetime\): a Grant for role cluster-admin may last at most 8h from its creation \(\S+Z\); its expiresAt \S+Z is later: set spec\.expiresAt to \S+Z or earlier/,
    );
  });

  it('refuses an extension past 8h from creation, and allows one within it', async () => {
    const ending = grant('cluster-admin', hours(1));
    expect((await apply([ending])).stderr).toBe('');
    const extend = (expiresAt: string) =>
      kubectl('hub', ['patch', 'grant', ending.metadata.name, '--type', 'merge', '-p', JSON.stringify({ spec: { expiresAt } })]);
    expect((await extend(hours(7))).stderr).toBe('');
    expect((await extend(hours(24))).stderr).toContain('guardrail infra-grant-max-lifetime');
  });

  it("applies each labelled ConfigMap as a rule of its own: edit for 2h, with that rule's name in the refusal", async () => {
    const tooLong = await apply([grant('edit', hours(3))]);
    expect(tooLong.stderr).toContain('guardrail infra-grant-max-lifetime (ConfigMap edit-for-2h): a Grant for role edit may last at most 2h');
    const noEnd = await apply([grant('admin')]);
    expect(noEnd.stderr).toContain('guardrail infra-grant-max-lifetime (ConfigMap edit-for-2h): a Grant for role admin may last at most 2h');
    expect(noEnd.stderr).toContain('it has no expiresAt');
    expect((await apply([grant('edit', hours(1))])).stderr).toBe('');
  });

  it('lets the operator label, and a connector report on, a Grant that predates the guardrails, but not change its spec', async () => {
    const label = await kubectl('hub', ['label', 'grant', legacy.metadata.name, 'infrahq.com/destination=production', '--overwrite']);
    expect(label.stderr).toBe('');
    const status = await kubectl('hub', [
      'patch',
      'grant',
      legacy.metadata.name,
      '--subresource=status',
      '--type',
      'merge',
      '-p',
      '{"status":{"observedGeneration":1}}',
    ]);
    expect(status.stderr).toBe('');
    const respec = await kubectl('hub', ['patch', 'grant', legacy.metadata.name, '--type', 'merge', '-p', '{"spec":{"resource":"staging"}}']);
    expect(respec.stderr).toContain('guardrail infra-grant-expiry-required');
  });
});

describe('guardrail infra-access-policy-writers', () => {
  const name = uniqueName('oncall');
  const as = (user: string, ...groups: string[]) => ['--as', user, ...[policyWriters, ...groups].flatMap((g) => ['--as-group', g])];

  it('refuses anyone else an AccessPolicy, even with RBAC to write it, naming the rule and who may', async () => {
    const result = await apply([accessPolicy(name, '2h')], as('mallory@example.com'));
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(
      `guardrail infra-access-policy-writers (ConfigMap infra-guardrail-access-policy-writers): mallory@example.com may not create AccessPolicy ${name}; ` +
        `only admins on infra change AccessPolicies: through infra, or in the hub as ${operator} or a member of infra-admins`,
    );
  });

  it('lets the operator create it, and a member of infra-admins change and delete it; refuses another to weaken or delete it', async () => {
    expect((await apply([accessPolicy(name, '2h')], as(operator))).stderr).toBe('');
    const weaken = await apply([accessPolicy(name, '720h')], as('mallory@example.com'));
    expect(weaken.stderr).toContain(`mallory@example.com may not update AccessPolicy ${name}`);
    const remove = await kubectl('hub', ['delete', 'accesspolicy', name, ...as('mallory@example.com')]);
    expect(remove.stderr).toContain(`mallory@example.com may not delete AccessPolicy ${name}`);
    expect(await kubectlOk('hub', ['get', 'accesspolicy', name, '-o', 'jsonpath={.spec.maxDuration}'])).toBe('2h');
    expect((await apply([accessPolicy(name, '4h')], as('bob@example.com', 'infra-admins'))).stderr).toBe('');
    expect((await kubectl('hub', ['delete', 'accesspolicy', name, ...as('bob@example.com', 'infra-admins')])).stderr).toBe('');
  });
});
