// `make cli`: the `infra` CLI as people install it, in dist/bin/: one single executable
// per platform (PLATFORMS, default every one this machine can build), the npm package's
// tarball, and SHA256SUMS for all of them. A platform that cannot be built here is named
// with the reason; the command fails only when nothing was built or a named platform is unknown.
import { join } from 'node:path';
import { buildProgram, distDir } from './build.ts';
import { buildExecutable, hostPlatform, isPlatform, platforms, writeChecksums, type Platform } from './executable.ts';
import { packCli } from './npm-package.ts';

const requested = (process.env['PLATFORMS'] ?? Object.keys(platforms).join(' ')).split(/\s+/).filter(Boolean);
const unknown = requested.filter((name) => !isPlatform(name));
if (unknown.length > 0) {
  console.error(`make cli: cannot build for ${unknown.join(', ')}: the platforms are ${Object.keys(platforms).join(', ')} (PLATFORMS="linux-amd64")`);
  process.exit(2);
}

const built: string[] = [];
const host = hostPlatform();
if (host instanceof Error) console.error(`make cli: ${host.message}`);
else {
  for (const platform of requested as Platform[]) {
    try {
      built.push(await buildExecutable(platform));
      console.log(`built ${built.at(-1)}${platform === host ? '' : ' (not run here: no code cache)'}`);
    } catch (err) {
      if (platform === host) throw err;
      console.error(`make cli: skipped ${platform}: ${(err as Error).message}`);
    }
  }
}
await buildProgram('cli');
built.push(await packCli(join(distDir, 'bin')));
console.log(`built ${built.at(-1)} (npm install -g it)`);
console.log(`wrote ${await writeChecksums(built)}`);
