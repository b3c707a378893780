// The flags the programs run with in tests and benchmarks must be the ones their
// Deployments set: otherwise we measure one program and ship another.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { nodeFlags, type Program } from './node-flags.ts';

const config = join(import.meta.dirname, '..', 'config');

function nodeOptionsIn(program: Program): string | undefined {
  type Deployment = { spec: { template: { spec: { containers: { env?: { name: string; value?: string }[] }[] } } } };
  const [deployment] = parseAllDocuments(readFileSync(join(config, program, 'deployment.yaml'), 'utf8')).map((d) => d.toJS() as Deployment);
  const container = deployment!.spec.template.spec.containers[0]!;
  return container.env?.find((e) => e.name === 'NODE_OPTIONS')?.value;
}

describe('NODE_OPTIONS in config/*/deployment.yaml', () => {
  for (const program of Object.keys(nodeFlags) as Program[]) {
    it(`is what lib/node-flags.ts gives the ${program}`, () => {
      expect(nodeOptionsIn(program)).toBe(nodeFlags[program].join(' '));
    });
  }
});
