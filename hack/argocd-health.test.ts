// The Argo CD health check on objects captured from a real operator and connector
// (config/argocd/testdata, written by e2e/argocd-health.test.ts with
// INFRA_UPDATE_FIXTURES=1), run by Argo CD's Lua interpreter; and the argocd-cm that
// installs it, which must be what health.lua generates.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { argocdConfigMap, argocdConfigMapFile, evaluateHealth, type Health } from './argocd-health.ts';

const testdata = join(import.meta.dirname, '..', 'config', 'argocd', 'testdata');
const fixtures = readdirSync(testdata)
  .filter((f) => f.endsWith('.json'))
  .sort();

type Fixture = Record<string, unknown> & { metadata: { generation?: number }; status?: Record<string, unknown>; expected: Health };
const load = (file: string) => JSON.parse(readFileSync(join(testdata, file), 'utf8')) as Fixture;

describe('config/argocd/health.lua', () => {
  it('has fixtures for Healthy, Progressing and Degraded', () => {
    const statuses = new Set(fixtures.map((f) => load(f).expected.status));
    expect([...statuses].sort()).toEqual(['Degraded', 'Healthy', 'Progressing']);
  });

  for (const file of fixtures) {
    it(`calls ${file} what Argo CD showed for the live object`, async () => {
      const { expected, ...object } = load(file);
      expect(await evaluateHealth(object)).toEqual(expected);
    });
  }

  it('is Progressing while the operator has not observed the latest generation, or written no status', async () => {
    const { expected: _, ...healthy } = load('grant-healthy.json');
    const newer = { ...healthy, metadata: { ...healthy.metadata, generation: (healthy.metadata.generation ?? 1) + 1 } };
    expect((await evaluateHealth(newer)).status).toBe('Progressing');
    const { status: __, ...fresh } = healthy;
    expect(await evaluateHealth(fresh)).toEqual({ status: 'Progressing', message: 'Waiting for the Infra operator to observe this object' });
  });

  it('fails loudly on a script error instead of guessing', async () => {
    await expect(evaluateHealth(42)).rejects.toThrow(/lua-health failed: lua-health: running .*health.lua/);
  });
});

it('config/argocd/argocd-cm.yaml is what health.lua generates (run make manifests)', async () => {
  expect(readFileSync(argocdConfigMapFile, 'utf8')).toBe(await argocdConfigMap());
});
