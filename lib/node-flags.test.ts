// The flags the programs run with in tests and benchmarks must be the ones their
// Deployments and images set: otherwise we measure one program and ship another.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { commandLineFlags, nodeFlags, programEnv, proxyThreadV8Flags, type Program } from './node-flags.ts';

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

describe("the connector's proxy thread", () => {
  // What connector/proxy/thread.ts relies on: V8 reads the flag when it makes an isolate's
  // heap, so setting it before `new Worker` sizes that thread's young generation alone.
  it('gets larger semi-spaces than the main thread when proxyThreadV8Flags are set before it starts', () => {
    // Short-lived garbage until the young generation has grown to its cap; then its size.
    const newSpaceAfterChurn = `(() => {
      let kept = [];
      for (let i = 0; i < 2e6; i++) { kept.push({ i, text: 'x' + i }); if (kept.length > 20000) kept = []; }
      return process.getBuiltinModule('node:v8').getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
    })()`;
    const script = `
      const { setFlagsFromString } = require('node:v8');
      const { Worker } = require('node:worker_threads');
      const main = ${newSpaceAfterChurn};
      for (const flag of ${JSON.stringify(proxyThreadV8Flags)}) setFlagsFromString(flag);
      new Worker(${JSON.stringify(`require('node:worker_threads').parentPort.postMessage(${newSpaceAfterChurn})`)}, { eval: true })
        .once('message', (thread) => console.log(JSON.stringify({ main, thread })));`;
    const out = execFileSync(process.execPath, [...nodeFlags.connector, '-e', script], { encoding: 'utf8' });
    const { main, thread } = JSON.parse(out) as { main: number; thread: number };
    // Under the connector's 2 MiB semi-spaces V8 grew new space to 4–5.25 MiB in this loop,
    // under 4 MiB ones to 8 MiB.
    const between = 6 * 1024 * 1024;
    expect(main).toBeLessThanOrEqual(between);
    expect(thread).toBeGreaterThan(between);
  });
});
