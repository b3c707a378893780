// `npm run build`: bundles the three programs into dist/ with esbuild — what the images
// run, what `npm install` ships, and what the e2e suites and benchmarks start. Bundling
// is for memory and start time (docs/adr/0005-bundled-programs.md): @kubernetes/client-node
// alone is 25 MB of generated JavaScript that Node would parse and keep in full; the
// connector's bundle is ~3 MB.
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { build, stop, type BuildOptions, type Plugin } from 'esbuild';

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
  if (program === 'cli') return buildCli(options);
  const entryPoints: Record<string, string> = { [`${program}/main`]: `${program}/main.ts` };
  // The connector's proxy thread is a script of its own beside main.js (connector/proxy/thread.ts).
  if (program === 'connector') {
    entryPoints['connector/proxy-thread'] = 'connector/proxy/thread-worker.ts';
    options.define = { ...options.define, INFRA_PROXY_THREAD_ENTRY: JSON.stringify('./proxy-thread.js') };
  }
  await build({ ...options, entryPoints });
}

/**
 * cli/main.ts's `import('./full.ts')`, for bundles of the entry alone: the rest of the CLI
 * is not bundled into it but loaded from `target` (a file beside it, or the executable's asset).
 */
export function cliFullProgramAs(target: { external: string } | { contents: string }): Plugin {
  return {
    name: 'cli-full-program',
    setup(plugin) {
      plugin.onResolve({ filter: /^\.\/full\.ts$/ }, (args) =>
        'external' in target ? { path: target.external, external: true } : { path: args.path, namespace: 'cli-full-program' },
      );
      if ('contents' in target) plugin.onLoad({ filter: /.*/, namespace: 'cli-full-program' }, () => ({ contents: target.contents, loader: 'js' }));
    },
  };
}

/**
 * `infra tokens` runs before every kubectl request (bench/README.md, cli-tokens), so the
 * CLI is two builds. dist/cli/main.js is cli/main.ts alone, CommonJS (dist/cli/package.json
 * says so): its warm path then costs what `node -e 0` costs, where an ES module importing
 * the same built-ins took ~5 ms more. The rest, cli/full.ts, is ES modules (.mjs) split
 * into chunks, so a cache miss loads the HTTPS client without the argument parser.
 */
async function buildCli(options: BuildOptions): Promise<void> {
  await build({
    ...options,
    entryPoints: { 'cli/main': 'cli/main.ts' },
    format: 'cjs',
    banner: {},
    plugins: [cliFullProgramAs({ external: './full.mjs' })],
  });
  await writeFile(join(distDir, 'cli', 'package.json'), `${JSON.stringify({ type: 'commonjs' })}\n`);
  await build({
    ...options,
    entryPoints: { 'cli/full': 'cli/full.ts' },
    splitting: true,
    chunkNames: 'cli/chunks/[name]-[hash]',
    outExtension: { '.js': '.mjs' },
  });
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
