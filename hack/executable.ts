// The `infra` single executable (docs/adr/0011-cli-distribution.md): the CLI bundled into
// one CommonJS file, wrapped in a Node single executable application blob and injected
// (postject) into a copy of the project's pinned Node binary. Built executables are
// cached under ~/.cache/infra/executables by a hash of what went into them, so the
// suites' global setup rebuilds one only when the CLI changed.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, copyFile, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { build, stop } from 'esbuild';
import { cliFullProgramAs, distDir } from './build.ts';

const run = promisify(execFile);
const repoRoot = join(import.meta.dirname, '..');
const cacheDir = join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'infra');
/** The fuse postject flips so the Node binary runs the injected blob (Node's SEA docs). */
const seaFuse = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

/** The platforms an executable can be built for, as `<os>-<arch>` in release names, and Node's arch for each. */
export const platforms = { 'linux-amd64': 'x64', 'linux-arm64': 'arm64' } as const;
export type Platform = keyof typeof platforms;

export function isPlatform(name: string): name is Platform {
  return Object.hasOwn(platforms, name);
}

/** The platform of this machine, or why executables cannot be built on it. */
export function hostPlatform(): Platform | Error {
  const name = `${process.platform}-${process.arch === 'x64' ? 'amd64' : process.arch}`;
  if (isPlatform(name)) return name;
  return new Error(
    `cannot build infra executables on ${name}: they are built on Linux (amd64 or arm64), where postject can inject into the pinned Node's ELF binary; ` +
      'use the npm package (dist/npm/, `npm install -g`) here, or build on Linux',
  );
}

/** dist/bin/infra-<platform>, the name release assets and `make install` use. */
export function executablePath(platform: Platform): string {
  return join(distDir, 'bin', `infra-${platform}`);
}

async function pinnedNodeVersion(): Promise<string> {
  const lock = JSON.parse(await readFile(join(repoRoot, 'node_modules', 'node', 'package.json'), 'utf8')) as { version: string };
  return lock.version;
}

/** The single executable's assets: cli/full.ts's bundle, and V8's code cache for it (empty when there is none). */
const fullProgramAsset = 'full.cjs';
const fullProgramCodeCacheAsset = 'full.cjs.code-cache';
/** The function around the asset's code, as Node wraps a CommonJS module; the code cache is for exactly this text. */
const fullProgramWrapper = { head: '(function (exports, require, module, __filename, __dirname) {', tail: '\n})' };

/**
 * cli/main.ts's `import('./full.ts')` in the executable: the rest of the CLI, compiled from
 * the asset on first use, so that `infra tokens` with a usable cached token compiles only
 * the small entry. The asset gets the entry's built-ins-only require, all a bundle needs.
 */
const fullProgramFromAsset = `
const { getAsset } = require('node:sea');
const { Script } = require('node:vm');
const codeCache = getAsset(${JSON.stringify(fullProgramCodeCacheAsset)});
const script = new Script(${JSON.stringify(fullProgramWrapper.head)} + getAsset(${JSON.stringify(fullProgramAsset)}, 'utf8') + ${JSON.stringify(fullProgramWrapper.tail)}, {
  filename: ${JSON.stringify(fullProgramAsset)},
  cachedData: codeCache.byteLength > 0 ? Buffer.from(codeCache) : undefined,
});
const program = { exports: {} };
script.runInThisContext()(program.exports, require, program, __filename, __dirname);
module.exports = program.exports;
`;

/**
 * V8's code cache for the asset, as useCodeCache makes one for the blob's main: compiled by
 * the pinned Node, whose V8 the executable runs (so only for this machine's platform). A
 * cache V8 rejects costs only the compile it would have saved.
 */
async function writeFullProgramCodeCache(full: string, withCache: boolean): Promise<string> {
  const codeCache = `${full}.code-cache`;
  if (!withCache) {
    await writeFile(codeCache, '');
    return codeCache;
  }
  const compile = `
    const { readFileSync, writeFileSync } = require('node:fs');
    const { Script } = require('node:vm');
    const [full, codeCache, head, tail, filename] = process.argv.slice(1);
    writeFileSync(codeCache, new Script(head + readFileSync(full, 'utf8') + tail, { filename }).createCachedData());`;
  await run(join(repoRoot, 'node_modules', 'node', 'bin', 'node'), [
    '-e',
    compile,
    full,
    codeCache,
    fullProgramWrapper.head,
    fullProgramWrapper.tail,
    fullProgramAsset,
  ]);
  return codeCache;
}

/**
 * The CLI as two CommonJS files (a SEA's entry point must be a script, and must require
 * nothing from disk): the entry (cli/main.ts, the blob's main) and the rest (cli/full.ts,
 * an asset). Returns their paths.
 */
export async function bundleForExecutable(version: string, outdir = join(distDir, 'executable')): Promise<{ main: string; full: string }> {
  const options = {
    absWorkingDir: repoRoot,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node24',
    minify: true,
    legalComments: 'linked',
    define: { INFRA_BUILD_VERSION: JSON.stringify(version) },
    logLevel: 'warning',
  } as const;
  const main = join(outdir, 'infra.cjs');
  const full = join(outdir, 'infra-full.cjs');
  await build({ ...options, entryPoints: ['cli/full.ts'], outfile: full });
  await build({ ...options, entryPoints: ['cli/main.ts'], outfile: main, plugins: [cliFullProgramAs({ contents: fullProgramFromAsset })] });
  await stop();
  return { main, full };
}

/** The Node binary for a platform: the pinned one for this machine, else npm's node-linux-<arch> of the same version, cached. */
async function nodeBinary(platform: Platform, host: Platform, nodeVersion: string): Promise<string> {
  if (platform === host) return join(repoRoot, 'node_modules', 'node', 'bin', 'node');
  const dir = join(cacheDir, 'node', `node-linux-${platforms[platform]}-${nodeVersion}`);
  const binary = join(dir, 'package', 'bin', 'node');
  if (existsSync(binary)) return binary;
  await mkdir(dir, { recursive: true });
  const spec = `node-linux-${platforms[platform]}@${nodeVersion}`;
  try {
    const { stdout } = await run('npm', ['pack', spec, '--silent', '--pack-destination', dir], { maxBuffer: 1 << 20 });
    await run('tar', ['-xzf', join(dir, stdout.trim()), '-C', dir, 'package/bin/node']);
  } catch (err) {
    throw new Error(`cannot build infra-${platform}: fetching Node ${nodeVersion} for it (npm pack ${spec}) failed: ${(err as Error).message.split('\n')[0]}`, {
      cause: err,
    });
  }
  return binary;
}

/**
 * Builds dist/bin/infra-<platform> from the CLI's sources, reusing a cached build of the same
 * inputs. The code cache (startup: bench/README.md) is compiled by the Node that builds the
 * blob, so only an executable for this machine's platform carries one.
 */
export async function buildExecutable(platform: Platform): Promise<string> {
  const host = hostPlatform();
  if (host instanceof Error) throw host;
  const { version } = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
  const nodeVersion = await pinnedNodeVersion();
  const bundle = await bundleForExecutable(version);
  const useCodeCache = platform === host;
  const codeCache = await writeFullProgramCodeCache(bundle.full, useCodeCache);
  const seaConfig = {
    main: bundle.main,
    output: `${bundle.main}.blob`,
    assets: { [fullProgramAsset]: bundle.full, [fullProgramCodeCacheAsset]: codeCache },
    disableExperimentalSEAWarning: true,
    useCodeCache,
    useSnapshot: false,
  };
  const key = createHash('sha256')
    .update(await readFile(bundle.main))
    .update(await readFile(bundle.full))
    .update(JSON.stringify({ platform, nodeVersion, useCodeCache }))
    .digest('hex')
    .slice(0, 16);
  const cached = join(cacheDir, 'executables', `infra-${platform}-${key}`);
  const target = executablePath(platform);
  await mkdir(join(distDir, 'bin'), { recursive: true });
  if (!existsSync(cached)) {
    const node = await nodeBinary(platform, host, nodeVersion);
    const configFile = join(distDir, 'executable', `sea-config-${platform}.json`);
    await writeFile(configFile, JSON.stringify(seaConfig, null, 2));
    await run(join(repoRoot, 'node_modules', 'node', 'bin', 'node'), ['--experimental-sea-config', configFile]);
    await mkdir(join(cacheDir, 'executables'), { recursive: true });
    const building = `${cached}.${process.pid}.tmp`;
    await copyFile(node, building);
    // The pinned Node carries 18 MB of debug symbols an executable has no use for; a
    // strip that cannot read another architecture's ELF only costs size.
    await run('strip', [building]).catch(() => undefined);
    await run(join(repoRoot, 'node_modules', '.bin', 'postject'), [building, 'NODE_SEA_BLOB', seaConfig.output, '--sentinel-fuse', seaFuse]);
    await rename(building, cached);
    // Each is ~105 MiB: keep only the newest build for each platform.
    const stale = (await readdir(join(cacheDir, 'executables'))).filter(
      (name) => name.startsWith(`infra-${platform}-`) && join(cacheDir, 'executables', name) !== cached && !name.endsWith('.tmp'),
    );
    await Promise.all(stale.map((name) => rm(join(cacheDir, 'executables', name), { force: true })));
  }
  await rm(target, { force: true });
  await copyFile(cached, target);
  await chmod(target, 0o755);
  return target;
}

/** Writes dist/bin/SHA256SUMS for the executables built, in `sha256sum -c` format. */
export async function writeChecksums(files: string[]): Promise<string> {
  const lines = await Promise.all(
    files.map(
      async (file) =>
        `${createHash('sha256')
          .update(await readFile(file))
          .digest('hex')}  ${file.slice(join(distDir, 'bin').length + 1)}\n`,
    ),
  );
  const sums = join(distDir, 'bin', 'SHA256SUMS');
  await writeFile(sums, lines.join(''));
  return sums;
}
