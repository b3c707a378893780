// The CRDs against the real hub kube-apiserver: installed, served, explained, validated.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { kubectl, kubectlOk } from '../test/cluster.ts';

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
