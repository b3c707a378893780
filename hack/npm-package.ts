// The CLI alone as an npm package: dist/npm/ holds the CLI's bundle (dist/cli/, every
// dependency inside), its licences, LICENSE and a package.json of its own; `npm pack`
// makes the tarball `npm install -g` installs `infra` from. The repository's package.json
// stays private: it is the workspace of all three programs and their dev tools.
import { copyFile, cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { distDir, programBundle } from './build.ts';

const run = promisify(execFile);
const repoRoot = join(import.meta.dirname, '..');
export const npmPackageDir = join(distDir, 'npm');

interface RootPackage {
  name: string;
  version: string;
  description: string;
  license: string;
  engines: Record<string, string>;
}

/** Writes dist/npm/ from the CLI's bundle (build it first) and packs it; returns the tarball's path. */
export async function packCli(destination: string): Promise<string> {
  const root = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as RootPackage;
  await rm(npmPackageDir, { recursive: true, force: true });
  await mkdir(npmPackageDir, { recursive: true });
  // Source maps stay out: they hold no sources (ADR 5), and a stack trace of an installed
  // CLI is read as a bug report, not on the user's machine.
  await cp(join(programBundle('cli'), '..'), npmPackageDir, { recursive: true, filter: (path) => !path.endsWith('.map') });
  await copyFile(join(repoRoot, 'LICENSE'), join(npmPackageDir, 'LICENSE'));
  const manifest = {
    name: root.name,
    version: root.version,
    description: 'infra: log in to Infra and get short-lived Kubernetes credentials; kubectl’s exec credential plugin.',
    license: root.license,
    // main.js is CommonJS, the rest ES modules (.mjs): hack/build.ts says why.
    type: 'commonjs',
    engines: root.engines,
    bin: { infra: 'main.js' },
    files: ['main.js', 'full.mjs', 'chunks', '*.LEGAL.txt', 'LICENSE'],
  };
  await writeFile(join(npmPackageDir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  await mkdir(destination, { recursive: true });
  const { stdout } = await run('npm', ['pack', '--silent', '--pack-destination', destination], { cwd: npmPackageDir });
  return join(destination, stdout.trim());
}
