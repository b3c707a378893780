// The manifests a platform team installs and keeps in Git, against the real hub and
// spoke: every kustomize tree in config/ passes the API servers' own validation and
// admission (server-side dry run), and samples applied, then reconciled by a real
// operator and connector, show no diff: no controller writes a field those files set.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cluster, kubectl, kubectlOk, uniqueName } from '../test/cluster.ts';
import { startInfra, type Infra } from '../test/infra.ts';
import { eventually } from '../test/programs.ts';
import type { ClusterName } from '../hack/controlplane/controlplane.ts';

const config = join(import.meta.dirname, '..', 'config');
const samples = join(config, 'samples');
/** The namespace config/ installs into; created for real so namespaced objects pass admission. */
const installNamespace = 'infra-system';

async function ensureNamespace(target: ClusterName, name: string): Promise<void> {
  const manifest = await kubectlOk(target, ['create', 'namespace', name, '--dry-run=client', '-o', 'yaml']);
  await kubectlOk(target, ['apply', '--server-side', '-f', '-'], { input: manifest });
}

async function dryRun(target: ClusterName, tree: string): Promise<string> {
  const result = await kubectl(target, ['apply', '--server-side', '--dry-run=server', '-k', join(config, tree)]);
  expect(result.stderr, `${tree} against the ${target}`).toBe('');
  expect(result.code).toBe(0);
  return result.stdout;
}

describe('config/ against the real API servers (server-side dry run)', () => {
  beforeAll(async () => {
    await ensureNamespace('hub', installNamespace);
    await ensureNamespace('spoke', installNamespace);
  });

  it('config/default (hub and spoke in one cluster) applies cleanly to the hub', async () => {
    const out = await dryRun('hub', 'default');
    for (const object of [
      'customresourcedefinition.apiextensions.k8s.io/grants.infrahq.com',
      'deployment.apps/infra-operator',
      'deployment.apps/infra-connector',
      'apiservice.apiregistration.k8s.io/v1alpha1.auth.infrahq.com',
      'poddisruptionbudget.policy/infra-operator',
      'clusterrolebinding.rbac.authorization.k8s.io/infra:operator:auth-delegator',
      'rolebinding.rbac.authorization.k8s.io/infra:operator:authentication-reader',
      'clusterrole.rbac.authorization.k8s.io/port-forward',
    ]) {
      expect(out).toContain(`${object} serverside-applied (server dry run)`);
    }
  });

  it("config/spoke applies cleanly to the spoke, with each of the proxy's Service options", async () => {
    expect(await dryRun('spoke', 'spoke')).toContain('deployment.apps/infra-connector serverside-applied (server dry run)');
    expect(await kubectlOk('spoke', ['kustomize', join(config, 'spoke')])).toContain('type: LoadBalancer');
    for (const component of ['connector-nodeport', 'connector-ingress']) {
      const variant = await dryRunWithComponent(component);
      expect(variant.code, variant.stderr).toBe(0);
    }
  });

  it('refuses a broken tree with the API server\'s reason (a test that can fail)', async () => {
    const result = await kubectl('spoke', ['apply', '--server-side', '--dry-run=server', '-f', '-'], {
      input: 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: broken, namespace: infra-system}\nspec: {selector: {matchLabels: {a: b}}, template: {metadata: {labels: {a: c}}, spec: {containers: []}}}\n',
    });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('selector');
  });
});

/** config/spoke plus one component, through a throwaway overlay as a user's own would be. */
async function dryRunWithComponent(component: string) {
  const dir = await mkdtemp(join(tmpdir(), 'infra-overlay-'));
  const rel = (path: string) => relative(dir, path);
  await writeFile(
    join(dir, 'kustomization.yaml'),
    `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ${rel(join(config, 'spoke'))}\ncomponents:\n  - ${rel(join(config, 'components', component))}\n`,
  );
  const built = await kubectlOk('spoke', ['kustomize', '--load-restrictor', 'LoadRestrictionsNone', dir]);
  expect(built).toContain(component === 'connector-nodeport' ? 'nodePort: 30443' : 'kind: Ingress');
  return kubectl('spoke', ['apply', '--server-side', '--dry-run=server', '-f', '-'], { input: built });
}

describe('samples in Git stay equal to the live objects', () => {
  let infra: Infra;

  beforeAll(async () => {
    infra = await startInfra({
      hubKubeconfig: cluster('hub').adminKubeconfig,
      spokeKubeconfig: cluster('spoke').adminKubeconfig,
      namespace: uniqueName('infra'),
      // The Destination in config/samples: its connector registers and fills url and caBundle.
      destination: 'development',
    });
  });

  afterAll(async () => {
    await kubectl('hub', ['delete', '--ignore-not-found', '-k', samples]);
    await infra?.stop();
  });

  it('kubectl diff --server-side reports nothing after the operator and connector have reconciled them', async () => {
    await kubectlOk('hub', ['apply', '--server-side', '-k', samples]);
    // Reconciled: the operator's Ready on the Grants, the connector's binding in the spoke,
    // the connector's url on the Destination, the operator's verdict on the Provider.
    await eventually(async () => {
      const ready = await kubectlOk('hub', ['get', 'grant', 'carl-edit-development', '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']);
      expect(ready).toBe('True');
      await kubectlOk('spoke', ['get', 'clusterrolebinding', 'infra:edit']);
      expect(await kubectlOk('hub', ['get', 'destination', 'development', '-o', 'jsonpath={.spec.url}'])).toBe(infra.connector.proxyURL);
      expect(await kubectlOk('hub', ['get', 'provider', 'okta', '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'])).not.toBe('');
    }, 30_000);

    const diff = await kubectl('hub', ['diff', '--server-side', '-k', samples]);
    expect(diff.stderr).toBe('');
    expect(diff.stdout).toBe('');
    expect(diff.code).toBe(0);
  });

  it('and a change in Git does show (the check can fail)', async () => {
    const changed = await kubectl('hub', ['diff', '--server-side', '-f', '-'], {
      input: 'apiVersion: infrahq.com/v1alpha1\nkind: Grant\nmetadata: {name: carl-edit-development}\nspec: {user: carl@example.com, role: view, resource: development}\n',
    });
    expect(changed.code).toBe(1);
    expect(changed.stdout).toContain('+  role: view');
  });
});
