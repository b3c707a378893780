// The images run the Node that package.json pins, the one every test ran on, and are
// built from files that exist and that .dockerignore lets into the build context. There
// is no Docker engine where the tests run, so this is what checks the Dockerfile.
import { existsSync, readFileSync } from 'node:fs';
import { join, matchesGlob } from 'node:path';
import { expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');
const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');

it('Dockerfile builds on the Node version package.json pins', () => {
  const pinned = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> }).devDependencies['node'];
  expect(/^ARG NODE_VERSION=(\S+)$/m.exec(dockerfile)?.[1]).toBe(pinned);
});

/** Whether .dockerignore keeps a path out of the build context; its last matching line decides. */
function ignored(path: string, patterns: string[]): boolean {
  let excluded = false;
  for (const line of patterns) {
    const negated = line.startsWith('!');
    const pattern = negated ? line.slice(1) : line;
    const matches = pattern.includes('*') ? matchesGlob(path, pattern) : path === pattern || path.startsWith(`${pattern}/`);
    if (matches) excluded = !negated;
  }
  return excluded;
}

it('copies from the build context only files that exist and .dockerignore lets in', () => {
  const patterns = readFileSync(join(root, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const sources = [...dockerfile.matchAll(/^COPY (?!--from)(.+)$/gm)].flatMap((m) => m[1]!.trim().split(/\s+/).slice(0, -1));
  expect(sources).toContain('hack/build.ts');
  const problems = sources.filter((src) => !existsSync(join(root, src)) || ignored(src, patterns));
  expect(problems).toEqual([]);
});

it('builds from base images given as build arguments whose defaults are the public Node images', () => {
  const defaults = Object.fromEntries([...dockerfile.matchAll(/^ARG (\w+_IMAGE)=(\S+)$/gm)].map((m) => [m[1], m[2]]));
  expect(defaults).toEqual({ BUILD_IMAGE: 'node:${NODE_VERSION}-alpine', RUNTIME_IMAGE: 'node:${NODE_VERSION}-alpine' });
  expect([...dockerfile.matchAll(/^FROM (\S+)/gm)].map((m) => m[1])).toEqual(['${BUILD_IMAGE}', '${RUNTIME_IMAGE}', 'runtime', 'runtime']);
});
