// charts/infra against the real hub and spoke: what `helm template` renders passes the API
// servers' own validation and admission (server-side dry run), as the hub, as a spoke,
// and in a namespace of the user's choosing.
import { describe, expect, it } from 'vitest';
import { renderChartRaw } from '../hack/chart/helm.ts';
import { kubectl, kubectlOk, uniqueName } from '../test/cluster.ts';
import type { ClusterName } from '../hack/controlplane/controlplane.ts';

/** The chart's default namespace, created for real so namespaced objects pass admission. */
const installNamespace = 'infra-system';

async function ensureNamespace(target: ClusterName, name: string): Promise<void> {
  const manifest = await kubectlOk(target, ['create', 'namespace', name, '--dry-run=client', '-o', 'yaml']);
  await kubectlOk(target, ['apply', '--server-side', '-f', '-'], { input: manifest });
}

/** kubectl's notice about objects an earlier client-side apply left (e.g. by make dev): about live objects, not the chart. */
const migrationNotice = /^Warning: failed to migrate kubectl\.kubernetes\.io\/last-applied-configuration .*$\n?/gm;

/** helm template | kubectl apply --server-side --force-conflicts --dry-run=server -f - */
async function dryRun(target: ClusterName, values: string[]): Promise<string> {
  const rendered = await renderChartRaw(values);
  expect(rendered.stderr, `helm template ${values.join(' ')}`).toBe('');
  expect(rendered.code).toBe(0);
  // --force-conflicts: on a cluster where Infra already runs (make kind-up's), live objects
  // such as the APIService have other field managers; who owns a field is not what this checks.
  const applied = await kubectl(target, ['apply', '--server-side', '--force-conflicts', '--dry-run=server', '-f', '-'], { input: rendered.stdout });
  expect(applied.stderr.replace(migrationNotice, ''), `the chart with ${values.join(' ')} against the ${target}`).toBe('');
  expect(applied.code).toBe(0);
  return applied.stdout;
}

const applied = (object: string) => `${object} serverside-applied (server dry run)`;

describe('charts/infra against the real API servers (helm template | kubectl apply --dry-run=server)', () => {
  it('applies cleanly to the hub with default values', async () => {
    await ensureNamespace('hub', installNamespace);
    const out = await dryRun('hub', []);
    for (const object of [
      'customresourcedefinition.apiextensions.k8s.io/grants.infrahq.com',
      'deployment.apps/infra-operator',
      'apiservice.apiregistration.k8s.io/v1alpha1.auth.infrahq.com',
      'poddisruptionbudget.policy/infra-operator',
      'networkpolicy.networking.k8s.io/infra-operator',
      'rolebinding.rbac.authorization.k8s.io/infra:operator:authentication-reader',
      'validatingadmissionpolicy.admissionregistration.k8s.io/infra-connector-isolation',
    ])
      expect(out).toContain(applied(object));
    // The hub runs no connector: nothing of the connector's own but the policy that confines it.
    expect(out.replaceAll('infra-connector-isolation', '')).not.toContain('infra-connector');
  });

  it('applies cleanly to the spoke as a spoke', async () => {
    await ensureNamespace('spoke', installNamespace);
    const out = await dryRun('spoke', ['hub.enabled=false', 'spoke.enabled=true']);
    for (const object of [
      'deployment.apps/infra-connector',
      'secret/infra-connector-proxy-token',
      'networkpolicy.networking.k8s.io/infra-connector',
      'clusterrole.rbac.authorization.k8s.io/exec',
    ])
      expect(out).toContain(applied(object));
    expect(out).not.toContain('customresourcedefinition');
    expect(out).not.toContain('infra-operator');
  });

  it('applies cleanly as hub and spoke in one namespace of its own, with values set', async () => {
    const namespace = uniqueName('helm');
    await ensureNamespace('hub', namespace);
    try {
      const out = await dryRun('hub', [
        'spoke.enabled=true',
        `namespace.name=${namespace}`,
        'operator.replicas=3',
        'operator.config.publicURL=https://infra.acme.test',
        'connector.config.destination=acme',
        'connector.resources.limits.memory=1Gi',
      ]);
      expect(out).toContain(applied('deployment.apps/infra-operator'));
      expect(out).toContain(applied('deployment.apps/infra-connector'));
    } finally {
      await kubectl('hub', ['delete', 'namespace', namespace, '--wait=false']);
    }
  });

  it("refuses a broken rendering with the API server's reason (a test that can fail)", async () => {
    const rendered = await renderChartRaw([
      'hub.enabled=false',
      'spoke.enabled=true',
      'connector.resources.limits.memory=1Gi',
      'connector.resources.requests.memory=2Gi',
    ]);
    const result = await kubectl('spoke', ['apply', '--server-side', '--dry-run=server', '-f', '-'], { input: rendered.stdout });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('must be less than or equal to memory limit');
  });
});
