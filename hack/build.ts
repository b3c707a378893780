// `npm run build`: bundles the three programs into dist/ with esbuild — what the images
// run, what `npm install` ships, and what the e2e suites and benchmarks start. Bundling
// is for memory and start time (docs/adr/0005-bundled-programs.md): @kubernetes/client-node
// alone is 25 MB of generated JavaScript that Node would parse and keep in full; the
// connector's bundle is ~3 MB.
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { build, stop, type BuildOptions } from 'esbuild';

const repoRoot = join(import.meta.dirname, '..');
export const distDir = join(repoRoot, 'dist');

export type Program = 'operator' | 'connector' | 'cli';

/** Where a program's bundle is: dist/<program>/main.js, as package.json's "bin" says. */
export function programBundle(program: Program): string {
  return join(distDir, program, 'main.js');
}

const common: BuildOptions = {
  absWorkingDir: repoRoot,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node24',
  outdir: distDir,
  minify: true,
  // Stack traces in minified code name nothing; the maps beside the bundles translate
  // them when a program runs with NODE_OPTIONS=--enable-source-maps.
  sourcemap: 'linked',
  sourcesContent: false,
  // Licences go to a .LEGAL.txt beside each bundle. Kept inline, one non-ASCII name in
  // them would make V8 hold the whole bundle's source as a two-byte string: 3 MiB more.
  legalComments: 'linked',
  // Some dependencies are CommonJS and call require() for Node's built-ins.
  banner: { js: "import { createRequire as __infraCreateRequire } from 'node:module'; const require = __infraCreateRequire(import.meta.url);" },
  logLevel: 'warning',
};

export async function packageVersion(): Promise<string> {
  return (JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
}

/** Bundles one program into dist/<program>/, replacing what that folder held. */
export async function buildProgram(program: Program): Promise<void> {
  await rm(join(distDir, program), { recursive: true, force: true });
  const options: BuildOptions = { ...common, define: { INFRA_BUILD_VERSION: JSON.stringify(await packageVersion()) } };
  // `infra tokens` runs before every kubectl request and loads only what it needs: the
  // CLI's dynamic imports stay separate chunks.
  const cli: BuildOptions = { splitting: true, chunkNames: 'cli/chunks/[name]-[hash]' };
  await build({ ...options, entryPoints: { [`${program}/main`]: `${program}/main.ts` }, ...(program === 'cli' ? cli : {}) });
}

/**
 * Builds every program, each replacing its own folder. dist/bin/ stays: `make cli`'s
 * executables, which a kubeconfig made with `make dev`'s printed commands may name.
 */
export async function buildPrograms(): Promise<void> {
  await Promise.all((['operator', 'connector', 'cli'] as const).map(buildProgram));
  // esbuild's service process would otherwise stay for the caller's lifetime: a benchmark's.
  await stop();
}

if (import.meta.main) await buildPrograms();
