// The flags the programs run with in tests and benchmarks must be the ones their
// Deployments and images set: otherwise we measure one program and ship another.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { commandLineFlags, nodeFlags, programEnv, type Program } from './node-flags.ts';

const root = join(import.meta.dirname, '..');
const config = join(root, 'config');

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

describe("the images' ENTRYPOINT in the Dockerfile", () => {
  const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
  for (const program of Object.keys(commandLineFlags) as Program[]) {
    it(`starts the ${program} with the command-line flags lib/node-flags.ts gives it`, () => {
      const stage = new RegExp(`^FROM \\S+ AS ${program}$[\\s\\S]*?^ENTRYPOINT (.+)$`, 'm').exec(dockerfile);
      expect(stage, `a "${program}" stage with an ENTRYPOINT`).not.toBeNull();
      expect(JSON.parse(stage![1]!)).toEqual(['node', ...commandLineFlags[program], `dist/${program}/main.js`]);
    });
  }
});
