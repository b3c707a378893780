// The manifests a platform team installs and keeps in Git, against the real hub and
// spoke: every kustomize tree in config/ passes the API servers' own validation and
// admission (server-side dry run), and samples applied, then reconciled by a real
// operator and connector, show no diff: no controller writes a field those files set.
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cluster, kubectl, kubectlOk, uniqueName } from '../test/cluster.ts';
import { startInfra, type Infra } from '../hack/local-infra/infra.ts';
import { eventually } from '../hack/local-infra/programs.ts';
import { testDirectory } from '../test/temporary.ts';
import type { ClusterName } from '../hack/controlplane/controlplane.ts';

const config = join(import.meta.dirname, '..', 'config');
const samples = join(config, 'samples');
/** The namespace config/ installs into; created for real so namespaced objects pass admission. */
const installNamespace = 'infra-system';

async function ensureNamespace(target: ClusterName, name: string): Promise<void> {
  const manifest = await kubectlOk(target, ['create', 'namespace', name, '--dry-run=client', '-o', 'yaml']);
  await kubectlOk(target, ['apply', '--server-side', '-f', '-'], { input: manifest });
}

/**
 * kubectl's own notice about objects an earlier client-side apply left in a shared hub
 * (e.g. by `make dev`): about the live objects, not about these manifests.
 */
const migrationNotice = /^Warning: failed to migrate kubectl\.kubernetes\.io\/last-applied-configuration .*$\n?/gm;

async function dryRun(target: ClusterName, tree: string): Promise<string> {
  const result = await kubectl(target, ['apply', '--server-side', '--dry-run=server', '-k', join(config, tree)]);
  expect(result.stderr.replace(migrationNotice, ''), `${tree} against the ${target}`).toBe('');
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
      'rolebinding.rbac.authorization.k8s.io/infra:operator:authentication-reader',
      'clusterrole.rbac.authorization.k8s.io/port-forward',
      'networkpolicy.networking.k8s.io/infra-operator',
      'networkpolicy.networking.k8s.io/infra-connector',
      'serviceaccount/infra-connector-proxy',
      'secret/infra-connector-proxy-token',
      'validatingadmissionpolicy.admissionregistration.k8s.io/infra-connector-isolation',
      'validatingadmissionpolicybinding.admissionregistration.k8s.io/infra-connector-isolation',
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

  it('pins every image to a release tag, never :latest, in every tree', async () => {
    for (const tree of ['default', 'hub', 'spoke']) {
      const images = [...(await kubectlOk('hub', ['kustomize', join(config, tree)])).matchAll(/^\s+image: (\S+)$/gm)].map((m) => m[1]!);
      expect(images.length, tree).toBeGreaterThan(0);
      for (const image of images)
        expect(image, `${tree}: ${image}`).toMatch(/^ghcr\.io\/infrahq\/infra-(operator|connector):\d+\.\d+\.\d+(@sha256:[0-9a-f]{64})?$/);
    }
    for (const file of ['operator/deployment.yaml', 'connector/deployment.yaml'])
      expect(await readFile(join(config, file), 'utf8'), file).not.toContain(':latest');
  });

  it('the operator may create and update its own APIService and no other', async () => {
    await kubectlOk('hub', ['apply', '--server-side', '--force-conflicts', '-f', join(config, 'rbac', 'operator.yaml')]);
    const operator = `system:serviceaccount:${installNamespace}:infra-operator`;
    const apiService = (name: string) =>
      `apiVersion: apiregistration.k8s.io/v1\nkind: APIService\nmetadata: {name: ${name}}\nspec: {group: ${name.split('.').slice(1).join('.')}, version: v1alpha1, groupPriorityMinimum: 1000, versionPriority: 15, service: {name: infra-operator, namespace: ${installNamespace}, port: 8444}}\n`;
    const applyAs = (name: string) =>
      kubectl('hub', ['apply', '--server-side', '--dry-run=server', '--field-manager', 'infra-operator', '--force-conflicts', '--as', operator, '-f', '-'], {
        input: apiService(name),
      });
    const own = await applyAs('v1alpha1.auth.infrahq.com');
    expect(own.stderr).toBe('');
    expect(own.stdout).toContain('apiservice.apiregistration.k8s.io/v1alpha1.auth.infrahq.com serverside-applied (server dry run)');
    const other = await applyAs('v1alpha1.metrics.example.com');
    expect(other.code).not.toBe(0);
    expect(other.stderr).toContain('cannot patch resource "apiservices"');
    const can = async (...args: string[]) => (await kubectl('hub', ['auth', 'can-i', ...args, '--as', operator])).stdout.trim();
    expect(await can('create', 'apiservices')).toBe('no');
    expect(await can('create', 'apiservices/v1alpha1.auth.infrahq.com')).toBe('yes');
    // TokenReviews and SubjectAccessReviews only, to gate its HTTPS /metrics (ADR 10); not
    // system:auth-delegator's namespaced reviews.
    expect(await can('create', 'tokenreviews')).toBe('yes');
    expect(await can('create', 'subjectaccessreviews')).toBe('yes');
    expect(await can('create', 'localsubjectaccessreviews', '-n', 'kube-system')).toBe('no');
  });

  it("refuses a broken tree with the API server's reason (a test that can fail)", async () => {
    const result = await kubectl('spoke', ['apply', '--server-side', '--dry-run=server', '-f', '-'], {
      input:
        'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: broken, namespace: infra-system}\nspec: {selector: {matchLabels: {a: b}}, template: {metadata: {labels: {a: c}}, spec: {containers: []}}}\n',
    });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('selector');
  });
});

/** config/spoke plus one component, through a throwaway overlay as a user's own would be. */
async function dryRunWithComponent(component: string) {
  const dir = testDirectory('infra-overlay-');
  const rel = (path: string) => relative(dir, path);
  await writeFile(
    join(dir, 'kustomization.yaml'),
    `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ${rel(join(config, 'spoke'))}\ncomponents:\n  - ${rel(join(config, 'components', component))}\n`,
  );
  const built = await kubectlOk('spoke', ['kustomize', '--load-restrictor', 'LoadRestrictionsNone', dir]);
  expect(built).toContain(component === 'connector-nodeport' ? 'nodePort: 30443' : 'kind: Ingress');
  return kubectl('spoke', ['apply', '--server-side', '--dry-run=server', '-f', '-'], { input: built });
}

/**
 * config/samples with this run's names: the same files, with the destinations, Grant and
 * Provider names made unique, so the test never touches a hub's own `development` (make
 * dev applies the samples too, and tests may run against its control plane).
 */
async function samplesOfThisRun(): Promise<{ dir: string; development: string; carl: string; okta: string }> {
  const id = uniqueName('s').slice(2);
  const dir = await mkdtemp(join(tmpdir(), 'infra-samples-'));
  const files = (await readdir(samples)).filter((f) => f.endsWith('.yaml'));
  for (const file of files) {
    const text = await readFile(join(samples, file), 'utf8');
    await writeFile(join(dir, file), text.replace(/\b(development|production)\b/g, `$1-${id}`).replace(/^ {2}name: okta$/m, `  name: okta-${id}`));
  }
  await writeFile(join(dir, 'kustomization.yaml'), `resources:\n${files.map((f) => `  - ${f}\n`).join('')}`);
  return { dir, development: `development-${id}`, carl: `carl-edit-development-${id}`, okta: `okta-${id}` };
}

describe('samples in Git stay equal to the live objects', () => {
  let infra: Infra;
  let copy: Awaited<ReturnType<typeof samplesOfThisRun>>;

  beforeAll(async () => {
    copy = await samplesOfThisRun();
    infra = await startInfra({
      hubKubeconfig: cluster('hub').adminKubeconfig,
      spokeKubeconfig: cluster('spoke').adminKubeconfig,
      namespace: uniqueName('infra'),
      // The Destination in the samples: its connector registers and fills url and caBundle.
      destination: copy.development,
    });
  });

  afterAll(async () => {
    if (copy) await kubectl('hub', ['delete', '--ignore-not-found', '-k', copy.dir]);
    await infra?.stop();
    if (copy) await rm(copy.dir, { recursive: true, force: true });
  });

  it('kubectl diff --server-side reports nothing after the operator and connector have reconciled them', async () => {
    await kubectlOk('hub', ['apply', '--server-side', '-k', copy.dir]);
    const { carl, okta } = copy;
    // Reconciled: the operator's Ready on the Grants, the connector's binding in the spoke,
    // the connector's url on the Destination, the operator's verdict on the Provider.
    await eventually(async () => {
      const ready = await kubectlOk('hub', ['get', 'grant', carl, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']);
      expect(ready).toBe('True');
      await kubectlOk('spoke', ['get', 'clusterrolebinding', 'infra:edit']);
      expect(await kubectlOk('hub', ['get', 'destination', copy.development, '-o', 'jsonpath={.spec.url}'])).toBe(infra.connector.proxyURL);
      expect(await kubectlOk('hub', ['get', 'provider', okta, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'])).not.toBe('');
    }, 30_000);

    const diff = await kubectl('hub', ['diff', '--server-side', '-k', copy.dir]);
    expect(diff.stderr).toBe('');
    expect(diff.stdout).toBe('');
    expect(diff.code).toBe(0);

    // And a change in Git does show (the check can fail).
    const changed = await kubectl('hub', ['diff', '--server-side', '-f', '-'], {
      input: `apiVersion: infrahq.com/v1alpha1\nkind: Grant\nmetadata: {name: ${carl}}\nspec: {user: carl@example.com, role: view, resource: ${copy.development}}\n`,
    });
    expect(changed.code).toBe(1);
    expect(changed.stdout).toContain('+  role: view');
  });
});
