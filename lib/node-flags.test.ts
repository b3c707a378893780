// The flags the programs run with in tests and benchmarks must be the ones their
// Deployments set: otherwise we measure one program and ship another.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { nodeFlags, programEnv, type Program } from './node-flags.ts';

const config = join(import.meta.dirname, '..', 'config');

function envIn(program: Program): Map<string, string | undefined> {
  type Deployment = { spec: { template: { spec: { containers: { env?: { name: string; value?: string }[] }[] } } } };
  const [deployment] = parseAllDocuments(readFileSync(join(config, program, 'deployment.yaml'), 'utf8')).map((d) => d.toJS() as Deployment);
  const container = deployment!.spec.template.spec.containers[0]!;
  return new Map(container.env?.map((e) => [e.name, e.value]));
}

describe('the environment in config/*/deployment.yaml', () => {
  for (const program of Object.keys(nodeFlags) as Program[]) {
    it(`has the NODE_OPTIONS and the variables lib/node-flags.ts gives the ${program}`, () => {
      const env = envIn(program);
      expect(env.get('NODE_OPTIONS')).toBe(nodeFlags[program].join(' '));
      for (const [name, value] of Object.entries(programEnv[program])) expect(env.get(name), name).toBe(value);
    });
  }
});
