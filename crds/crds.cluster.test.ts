// The CRDs against the real hub kube-apiserver: installed, served, explained, validated.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { eventually } from '../hack/local-infra/programs.ts';
import { kubectl, kubectlOk, manifest, uniqueName } from '../test/cluster.ts';

const samplesDir = join(import.meta.dirname, '..', 'config', 'samples');
const invalidDir = join(import.meta.dirname, 'testdata', 'invalid');
const kinds = ['grants', 'users', 'groups', 'providers', 'destinations', 'accessrequests', 'accesspolicies'];

async function sampleFiles(): Promise<string[]> {
  return (await readdir(samplesDir)).filter((f) => f.endsWith('.yaml')).map((f) => join(samplesDir, f));
}

interface Fixture {
  file: string;
  expect: string;
}

async function invalidFixtures(): Promise<Fixture[]> {
  const files = (await readdir(invalidDir)).filter((f) => f.endsWith('.yaml')).sort();
  return Promise.all(
    files.map(async (file) => {
      const text = await readFile(join(invalidDir, file), 'utf8');
      const expectation = /^# expect: (.+)$/m.exec(text)?.[1]?.trim();
      if (!expectation) throw new Error(`${file} has no "# expect: <substring>" line`);
      return { file, expect: expectation };
    }),
  );
}

describe('CRDs in the hub', () => {
  it('are established, cluster-scoped and in the infra category', async () => {
    const crds = JSON.parse(await kubectlOk('hub', ['get', 'crd', '-l', 'app.kubernetes.io/part-of=infra', '-o', 'json'])) as {
      items: {
        metadata: { name: string };
        spec: { scope: string; names: { categories: string[] } };
        status: { conditions: { type: string; status: string }[] };
      }[];
    };
    expect(crds.items.map((c) => c.metadata.name).sort()).toEqual(kinds.map((k) => `${k}.infrahq.com`).sort());
    for (const crd of crds.items) {
      expect(crd.spec.scope).toBe('Cluster');
      expect(crd.spec.names.categories).toEqual(['infra']);
      expect(crd.status.conditions).toContainEqual(expect.objectContaining({ type: 'Established', status: 'True' }));
    }
  });

  it('accept the samples with `kubectl apply -f config/samples/`, and show them with printer columns', async () => {
    await kubectlOk('hub', ['apply', '-f', samplesDir]);
    const table = await kubectlOk('hub', ['get', 'grants']);
    const [header, ...rows] = table.trim().split('\n');
    expect(header!.split(/\s{2,}/)).toEqual(['NAME', 'SUBJECT', 'ROLE', 'RESOURCE', 'READY', 'SYNCED', 'EXPIRES', 'AGE']);
    const webdev = rows.find((r) => r.startsWith('webdev-edit-production-web'));
    expect(webdev?.split(/\s+/).slice(0, 4)).toEqual(['webdev-edit-production-web', 'okta:WebDev', 'edit', 'production.web']);
    const carl = rows.find((r) => r.includes('carl@example.com'));
    expect(carl?.split(/\s+/).slice(1, 4)).toEqual(['carl@example.com', 'edit', 'development']);
    const providers = await kubectlOk('hub', ['get', 'providers', 'okta']);
    expect(providers).toMatch(/^NAME\s+KIND\s+ISSUER\s+READY\s+AGE\nokta\s+okta\s+https:\/\/acmecorp\.okta\.com\s/);
    const everything = await kubectlOk('hub', ['get', 'infra', '-o', 'name']);
    expect(everything).toContain('grant.infrahq.com/engineering-admin-development');
    expect(everything).toContain('provider.infrahq.com/okta');
  });

  it('explain every field of a Grant with `kubectl explain`', async () => {
    const spec = await kubectlOk('hub', ['explain', 'grant.spec']);
    for (const field of ['user', 'group', 'role', 'resource', 'expiresAt']) expect(spec).toMatch(new RegExp(`^\\s+${field}\\s+<string>`, 'm'));
    expect(spec).toContain('<destination>.<namespace>');
    const resource = await kubectlOk('hub', ['explain', 'grant.spec.resource']);
    expect(resource).toMatch(/DESCRIPTION:\s+Where the role applies/);
    for (const kind of ['user', 'group', 'provider', 'destination']) {
      expect(await kubectlOk('hub', ['explain', `${kind}.spec`])).toMatch(/DESCRIPTION:\s+\S/);
    }
  });

  it('report no change when every sample is server-side applied a second time (no drift for Argo CD or Flux)', async () => {
    for (const file of await sampleFiles()) {
      await kubectlOk('hub', ['apply', '--server-side', '--field-manager=gitops-test', '-f', file]);
      const before = await kubectlOk('hub', ['get', '-f', file, '-o', 'jsonpath={range .items[*]}{.metadata.name}={.metadata.resourceVersion} {end}']);
      const second = await kubectl('hub', ['apply', '--server-side', '--field-manager=gitops-test', '-f', file]);
      expect(second.code, second.stderr).toBe(0);
      const after = await kubectlOk('hub', ['get', '-f', file, '-o', 'jsonpath={range .items[*]}{.metadata.name}={.metadata.resourceVersion} {end}']);
      expect(after, `${file} changed on the second apply`).toBe(before);
      const diff = await kubectl('hub', ['diff', '--server-side', '--field-manager=gitops-test', '-f', file]);
      expect(diff.stdout, `kubectl diff of ${file}`).toBe('');
      expect(diff.code).toBe(0);
    }
  });
});

const probe = { kind: 'ConditionsProbe', listKind: 'ConditionsProbeList', plural: 'conditionsprobes', singular: 'conditionsprobe' };

/**
 * The Grant CRD's schema under another group and names, without Infra's labels, so that no
 * operator or connector writes its objects and no other test finds them; `perField`
 * drops the condition items' atomic map type, as CRDs before it had.
 */
async function scratchGrantCRD(group: string, perField = false): Promise<object> {
  const crd = parse(await readFile(join(import.meta.dirname, 'infrahq.com_grants.yaml'), 'utf8')) as {
    metadata: object;
    spec: {
      group: string;
      names: object;
      versions: { schema: { openAPIV3Schema: { properties: Record<string, unknown> } } }[];
    };
  };
  crd.metadata = { name: `${probe.plural}.${group}` };
  crd.spec.group = group;
  crd.spec.names = probe;
  if (perField) {
    for (const version of crd.spec.versions) {
      const status = version.schema.openAPIV3Schema.properties['status'] as { properties: { conditions: { items: Record<string, unknown> } } };
      delete status.properties.conditions.items['x-kubernetes-map-type'];
    }
  }
  return crd;
}

interface ManagedFieldsEntry {
  manager: string;
  subresource?: string;
  fieldsV1?: { 'f:status'?: { 'f:conditions'?: Record<string, object> } };
}

describe('conditions under server-side apply', () => {
  const group = `${uniqueName('conditions')}.test.infrahq.com`;
  const resource = `${probe.plural}.${group}`;
  const condition = (type: string, status: string, reason: string, at = new Date('2026-12-06T00:00:00Z')) => ({
    type,
    status,
    reason,
    message: `${type} ${reason}`,
    observedGeneration: 1,
    lastTransitionTime: at.toISOString(),
  });
  /** Server-side applies these conditions to the object's status as this field manager, taking them over from others. */
  const statusApply = (manager: string, conditions: object[]) =>
    kubectl('hub', ['apply', '--server-side', '--force-conflicts', '--subresource=status', `--field-manager=${manager}`, '-f', '-'], {
      input: manifest([{ apiVersion: `${group}/v1alpha1`, kind: probe.kind, metadata: { name: 'g' }, status: { conditions } }]),
    });
  async function applyConditions(manager: string, conditions: object[]): Promise<void> {
    const result = await statusApply(manager, conditions);
    expect(result.code, result.stderr).toBe(0);
  }
  async function object(): Promise<{ conditions: Map<string, string>; owned: Map<string, string[]> }> {
    const live = JSON.parse(await kubectlOk('hub', ['get', resource, 'g', '-o', 'json', '--show-managed-fields'])) as {
      metadata: { managedFields: ManagedFieldsEntry[] };
      status: { conditions: { type: string; reason: string }[] };
    };
    return {
      conditions: new Map(live.status.conditions.map((c) => [c.type, c.reason])),
      owned: new Map(
        live.metadata.managedFields
          .filter((entry) => entry.subresource === 'status')
          .map((entry) => [
            entry.manager,
            Object.entries(entry.fieldsV1?.['f:status']?.['f:conditions'] ?? {}).map(([key, fields]) => `${key}${JSON.stringify(fields)}`),
          ]),
      ),
    };
  }
  async function install(crd: object): Promise<void> {
    await kubectlOk('hub', ['apply', '--server-side', '--force-conflicts', '-f', '-'], { input: manifest([crd]) });
    await kubectlOk('hub', ['wait', '--for=condition=Established', `crd/${resource}`, '--timeout=30s']);
  }

  afterAll(async () => {
    await kubectl('hub', ['delete', 'crd', resource, '--ignore-not-found', '--timeout=60s']);
  });

  it('gives each condition one owner as a whole, and keeps every condition when a CRD of per-field conditions is upgraded', async () => {
    // Before: per-field ownership. The connector takes Ready's changed fields; the operator keeps the rest of it.
    await install(await scratchGrantCRD(group, true));
    await kubectlOk('hub', ['apply', '-f', '-'], {
      input: manifest([
        {
          apiVersion: `${group}/v1alpha1`,
          kind: probe.kind,
          metadata: { name: 'g' },
          spec: { user: 'gail@example.com', role: 'view', resource: 'development' },
        },
      ]),
    });
    await applyConditions('infra-operator', [condition('SubjectFound', 'True', 'UserFound'), condition('Ready', 'False', 'AwaitingSync')]);
    await applyConditions('infra-connector', [condition('Synced', 'True', 'Bound'), condition('Ready', 'True', 'Bound')]);
    expect((await object()).owned.get('infra-operator')).toContainEqual(expect.stringMatching(/^k:\{"type":"Ready"\}\{"\.":\{\},"f:/));

    // After the upgrade each manager's next write owns whole conditions, and none is lost.
    // (A write that changes nothing is not stored, so each one here moves the transition time.)
    await install(await scratchGrantCRD(group));
    await eventually(async () => {
      const now = new Date();
      await applyConditions('infra-connector', [condition('Synced', 'True', 'Bound', now), condition('Ready', 'True', 'Bound', now)]);
      expect((await object()).owned.get('infra-connector')).toEqual(['k:{"type":"Ready"}{}', 'k:{"type":"Synced"}{}']);
    });
    await applyConditions('infra-operator', [condition('SubjectFound', 'True', 'UserFound')]);
    let now = await object();
    expect(now.owned.get('infra-operator')).toEqual(['k:{"type":"SubjectFound"}{}']);
    expect(Object.fromEntries(now.conditions)).toEqual({ SubjectFound: 'UserFound', Synced: 'Bound', Ready: 'Bound' });

    // A different Ready from the operator takes the whole condition: the connector no longer owns any part of it.
    await applyConditions('infra-operator', [condition('SubjectFound', 'True', 'UserFound'), condition('Ready', 'False', 'DestinationDisconnected')]);
    now = await object();
    expect(now.owned.get('infra-connector')).toEqual(['k:{"type":"Synced"}{}']);
    expect(now.owned.get('infra-operator')).toEqual(['k:{"type":"Ready"}{}', 'k:{"type":"SubjectFound"}{}']);
    expect(Object.fromEntries(now.conditions)).toEqual({ SubjectFound: 'UserFound', Synced: 'Bound', Ready: 'DestinationDisconnected' });

    // Part of a condition is no longer a write of its own: it would replace the whole, and is refused for what it lacks.
    const partial = await statusApply('someone-else', [{ type: 'Synced', message: 'edited by hand' }]);
    expect(partial.code).not.toBe(0);
    expect(partial.stderr).toMatch(/status\.conditions\[\d\]\.status: Required value/);

    // A condition its only owner stops sending is removed, as server-side apply removes any field.
    await applyConditions('infra-connector', [condition('Synced', 'False', 'RoleNotFound')]);
    await applyConditions('infra-operator', [condition('SubjectFound', 'True', 'UserFound')]);
    expect(Object.fromEntries((await object()).conditions)).toEqual({ SubjectFound: 'UserFound', Synced: 'RoleNotFound' });
  });
});

describe('invalid manifests', async () => {
  const fixtures = await invalidFixtures();

  it('are a corpus of at least 20', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(20);
  });

  it.each(fixtures)('$file is rejected by the API server, naming the field ($expect)', async ({ file, expect: expected }) => {
    const result = await kubectl('hub', ['create', '-f', join(invalidDir, file)]);
    expect(result.code, `kubectl create -f ${file} was accepted:\n${result.stdout}`).not.toBe(0);
    expect(result.stderr).toContain(expected);
  });
});
