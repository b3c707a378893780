// charts/infra against config/: the committed chart is what config/ generates, helm lint
// passes, default values render exactly the objects kustomize renders, each value changes
// what it names, and a value of the wrong type fails helm template with the field named.
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConnectorConfig } from '../../connector/config.ts';
import { loadOperatorConfig } from '../../operator/config.ts';
import { testDirectory } from '../../test/temporary.ts';
import { chartDir, generateChart } from './chart.ts';
import { helm, helmBinary, renderChart, renderChartRaw } from './helm.ts';
import { kustomize, kustomizeOverlay, objectKey, type KubernetesObject } from './kustomize.ts';
import { chartModel, parseImage, placeObjects } from './model.ts';
import { templateFiles } from './templates.ts';

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name)));
}

const byKey = (objects: KubernetesObject[]) => Object.fromEntries(objects.map((o) => [objectKey(o), o]));

/** The one difference the chart makes on purpose: its CRDs carry helm.sh/resource-policy: keep (crds.keep). */
function withoutKeepPolicy(objects: KubernetesObject[]): KubernetesObject[] {
  return objects.map((object) => {
    if (object.kind !== 'CustomResourceDefinition') return object;
    const { annotations, ...metadata } = object.metadata;
    expect(annotations, `${object.metadata.name} keeps on uninstall`).toEqual({ 'helm.sh/resource-policy': 'keep' });
    return { ...object, metadata };
  });
}

const find = (objects: KubernetesObject[], kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name);
type Container = { image: string; resources: unknown };
const container = (deployment: KubernetesObject | undefined) =>
  (deployment?.spec as { template: { spec: { containers: Container[] } } }).template.spec.containers[0]!;

describe('charts/infra', { timeout: 60_000 }, () => {
  // A cold cache builds helm (minutes); make test builds the tools before the tests.
  beforeAll(() => helmBinary(), 20 * 60_000);

  it('is what hack/generate-chart.ts makes of config/ (run make manifests after changing config/)', async () => {
    const generated = await generateChart();
    const committed = await filesUnder(chartDir);
    expect(committed.sort()).toEqual(Object.keys(generated).sort());
    for (const [path, content] of Object.entries(generated)) expect(await readFile(join(chartDir, path), 'utf8'), path).toBe(content);
  });

  it('passes helm lint --strict as hub, as spoke, and as both', async () => {
    for (const values of [[], ['hub.enabled=false', 'spoke.enabled=true'], ['spoke.enabled=true']]) {
      const result = await helm(['lint', '--strict', chartDir, ...values.flatMap((v) => ['--set', v])]);
      expect(result.stdout + result.stderr, values.join(' ')).toContain('1 chart(s) linted, 0 chart(s) failed');
      expect(result.code).toBe(0);
    }
  });

  it('renders the objects of config/hub with default values, of config/spoke as a spoke, of config/default as both', async () => {
    const cases = [
      { tree: 'hub', values: [] },
      { tree: 'spoke', values: ['hub.enabled=false', 'spoke.enabled=true'] },
      { tree: 'default', values: ['spoke.enabled=true'] },
    ];
    for (const { tree, values } of cases) {
      const rendered = byKey(withoutKeepPolicy(await renderChart(values)));
      const kustomized = byKey(await kustomize(tree));
      expect(Object.keys(rendered).sort(), tree).toEqual(Object.keys(kustomized).sort());
      for (const [key, object] of Object.entries(kustomized)) expect(rendered[key], `${tree}: ${key}`).toEqual(object);
    }
  });

  it('renders config/hub with the config/guardrails component when guardrails.enabled is on', async () => {
    const rendered = byKey(withoutKeepPolicy(await renderChart(['guardrails.enabled=true'])));
    const kustomized = byKey(await kustomizeOverlay(['hub'], ['guardrails']));
    expect(Object.keys(rendered).sort()).toEqual(Object.keys(kustomized).sort());
    for (const [key, object] of Object.entries(kustomized)) expect(rendered[key], key).toEqual(object);
    expect(Object.keys(kustomized).filter((key) => key.includes('infra-grant-max-lifetime'))).toHaveLength(2);
  });

  it('takes images, replicas, namespace, resources, config and the guardrail switches from values', async () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    const objects = await renderChart([
      'spoke.enabled=true',
      'namespace.name=tenant-infra',
      'operator.replicas=3',
      'operator.image.repository=registry.example.com/infra/infra-operator',
      'operator.image.tag=0.2.0',
      `operator.image.digest=${digest}`,
      'connector.resources.limits.memory=1Gi',
      'operator.config.publicURL=https://infra.acme.test',
      'networkPolicies.enabled=false',
      'podDisruptionBudgets.enabled=false',
      'crds.keep=false',
      'guardrails.enabled=true',
    ]);
    const operator = find(objects, 'Deployment', 'infra-operator');
    expect(operator?.metadata.namespace).toBe('tenant-infra');
    expect((operator?.spec as { replicas: number }).replicas).toBe(3);
    expect(container(operator).image).toBe(`registry.example.com/infra/infra-operator:0.2.0@${digest}`);
    expect(container(find(objects, 'Deployment', 'infra-connector')).resources).toEqual({
      limits: { memory: '1Gi' },
      requests: { cpu: '100m', memory: '256Mi' },
    });
    expect(find(objects, 'Namespace', 'tenant-infra')).toBeDefined();
    expect(find(objects, 'APIService', 'v1alpha1.auth.infrahq.com')?.spec).toMatchObject({ service: { namespace: 'tenant-infra' } });
    const operatorConfig = (find(objects, 'ConfigMap', 'infra-operator')?.data as Record<string, string>)['config.yaml'];
    expect(operatorConfig).toContain('publicURL: https://infra.acme.test');
    expect(operatorConfig).toContain('namespace: tenant-infra');
    expect(operatorConfig).toContain('bootstrapAdmins: []');
    expect(objects.filter((o) => o.kind === 'NetworkPolicy' || o.kind === 'PodDisruptionBudget')).toEqual([]);
    expect(find(objects, 'CustomResourceDefinition', 'grants.infrahq.com')?.metadata.annotations).toBeUndefined();
    expect(JSON.stringify(objects.filter((o) => o.kind !== 'CustomResourceDefinition'))).not.toContain('infra-system');
    expect(find(objects, 'ConfigMap', 'infra-guardrail-access-policy-writers')?.data).toMatchObject({
      usernames: 'system:serviceaccount:tenant-infra:infra-operator',
    });
  });

  it('renders the same CRDs whatever the namespace: one cluster-wide schema for every install', async () => {
    const crds = async (values: string[]) => (await renderChart(values)).filter((o) => o.kind === 'CustomResourceDefinition');
    const defaults = await crds([]);
    expect(defaults).toHaveLength(7);
    expect(await crds(['namespace.name=tenant-infra'])).toEqual(defaults);
  });

  it('leaves the namespace and the CRDs to others when told', async () => {
    const objects = await renderChart(['namespace.create=false', 'crds.enabled=false']);
    expect(objects.filter((o) => o.kind === 'Namespace' || o.kind === 'CustomResourceDefinition')).toEqual([]);
    expect(find(objects, 'Deployment', 'infra-operator')).toBeDefined();
  });

  it('writes config files the operator and connector load, with the config values merged in', async () => {
    const objects = await renderChart([
      'spoke.enabled=true',
      'namespace.name=tenant-infra',
      'operator.config.publicURL=https://infra.acme.test',
      'operator.config.bootstrapAdmins={admin@acme.test}',
      'operator.config.tokens.lifetime=2m',
      'connector.config.destination=acme',
      'connector.config.proxy.url=https://acme.infra.acme.test',
    ]);
    const dir = testDirectory('infra-chart-config-');
    const configFile = async (name: string) => {
      const path = join(dir, `${name}.yaml`);
      await writeFile(path, (find(objects, 'ConfigMap', name)?.data as Record<string, string>)['config.yaml']!);
      return ['--config', path];
    };
    const operator = loadOperatorConfig(await configFile('infra-operator'), {});
    expect(operator.kind === 'run' && operator.config).toMatchObject({
      namespace: 'tenant-infra',
      publicURL: 'https://infra.acme.test',
      bootstrapAdmins: ['admin@acme.test'],
      tokens: { lifetime: 120_000 },
      apiService: { serviceName: 'infra-operator' },
    });
    const connector = loadConnectorConfig(await configFile('infra-connector'), {});
    expect(connector.kind === 'run' && connector.config).toMatchObject({
      namespace: 'tenant-infra',
      destination: 'acme',
      proxy: { url: 'https://acme.infra.acme.test', kubeconfig: '/etc/infra/proxy-kubeconfig.yaml' },
    });
  });

  it("replaces config/'s setting with a false, zero or empty one, and keeps the settings beside it", async () => {
    const objects = await renderChart(['hub.enabled=false', 'spoke.enabled=true', 'connector.config.proxy.kubeconfig=']);
    const file = parse((find(objects, 'ConfigMap', 'infra-connector')?.data as Record<string, string>)['config.yaml']!) as { proxy: Record<string, unknown> };
    expect(file.proxy).toEqual({ kubeconfig: '', url: 'https://production.infra.example.com' });
  });

  it('refuses a value of the wrong type, an unknown value and a bad quantity in helm template, naming the field', async () => {
    const wrongType = await renderChartRaw(['operator.replicas=two']);
    expect(wrongType.code).not.toBe(0);
    expect(wrongType.stderr).toMatch(/values don't meet the specifications of the schema/);
    expect(wrongType.stderr).toContain('/operator/replicas');
    expect(wrongType.stderr).toMatch(/want integer/);

    const typo = await renderChartRaw(['operater.replicas=3']);
    expect(typo.code).not.toBe(0);
    expect(typo.stderr).toMatch(/additional properties 'operater' not allowed/);

    const quantity = await renderChartRaw(['connector.resources.limits.memory=512MB']);
    expect(quantity.code).not.toBe(0);
    expect(quantity.stderr).toContain('/connector/resources/limits/memory');

    // A program's settings are checked against the schema the program validates its file with.
    const setting = await renderChartRaw(['operator.config.publicUrl=https://infra.acme.test']);
    expect(setting.code).not.toBe(0);
    expect(setting.stderr).toContain("at '/operator/config': additional properties 'publicUrl' not allowed");
    const settingType = await renderChartRaw(['operator.config.sessions.maxPerUser=many']);
    expect(settingType.stderr).toContain("at '/operator/config/sessions/maxPerUser': got string, want integer");
  });
});

describe('the chart generator', () => {
  const deployment = (name: string, containers: string[]): KubernetesObject => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'infra-system' },
    spec: { template: { spec: { containers: containers.map((c) => ({ name: c, image: `ghcr.io/infrahq/${c}:1.0.0` })) } } },
  });
  const namespace: KubernetesObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'infra-system' } };

  it('gives a Deployment config/ gains later its values, a second container its own, and a new guardrail kind a switch', () => {
    const policy: KubernetesObject = { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicy', metadata: { name: 'infra-guard' } };
    const model = chartModel(placeObjects([namespace, policy], [namespace, deployment('infra-metrics-exporter', ['metrics-exporter', 'kube-rbac-proxy'])]));
    expect(model.components).toMatchObject([
      { key: 'metricsExporter', replicas: 1, containers: [{ valuePath: 'metricsExporter' }, { valuePath: 'metricsExporter.kubeRbacProxy' }] },
    ]);
    const files = templateFiles(model);
    expect(files['templates/deployment-infra-metrics-exporter.yaml']).toContain('{{ include "infra.image" .Values.metricsExporter.kubeRbacProxy.image }}');
    expect(files['templates/validatingadmissionpolicy-infra-guard.yaml']).toContain('{{- if and .Values.hub.enabled .Values.admissionPolicies.enabled }}');
    expect(files['templates/namespace-infra-system.yaml']).toContain('{{- if and (or .Values.hub.enabled .Values.spoke.enabled) .Values.namespace.create }}');
  });

  it('refuses an object that config/hub and config/spoke both have but differently', () => {
    const other = { ...namespace, metadata: { ...namespace.metadata, labels: { a: 'b' } } };
    expect(() => placeObjects([namespace], [other])).toThrow('core/Namespace -/infra-system differs between config/hub and config/spoke');
  });

  it('needs exactly one Namespace, the install namespace', () => {
    expect(() => chartModel(placeObjects([], [deployment('infra-connector', ['connector'])]))).toThrow('must create exactly one Namespace');
  });

  it('splits image references as kustomize writes them', () => {
    expect(parseImage('ghcr.io/infrahq/infra-operator:0.1.0')).toEqual({ repository: 'ghcr.io/infrahq/infra-operator', tag: '0.1.0', digest: '' });
    expect(parseImage(`localhost:5000/infra@sha256:${'b'.repeat(64)}`)).toEqual({
      repository: 'localhost:5000/infra',
      tag: '',
      digest: `sha256:${'b'.repeat(64)}`,
    });
  });
});
