// The images run the Node that package.json pins, the one every test ran on.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');

it('Dockerfile builds on the Node version package.json pins', () => {
  const pinned = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> }).devDependencies['node'];
  const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
  expect(/^ARG NODE_VERSION=(\S+)$/m.exec(dockerfile)?.[1]).toBe(pinned);
});
