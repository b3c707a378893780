// `make install`: builds this machine's `infra` executable (cached, hack/executable.ts)
// and copies it to PREFIX/infra. A copy, not a link: it keeps working when the checkout
// moves or dist/ is cleaned.
import { copyFile, mkdir, rename } from 'node:fs/promises';
import { delimiter, join, resolve } from 'node:path';
import { buildExecutable, hostPlatform } from './executable.ts';

const prefix = process.argv[2];
if (!prefix) {
  console.error('usage: node hack/install-cli.ts DIR (make install PREFIX=DIR)');
  process.exit(2);
}
const host = hostPlatform();
if (host instanceof Error) {
  console.error(`make install: ${host.message}`);
  process.exit(1);
}
const dir = resolve(prefix);
const target = join(dir, 'infra');
await mkdir(dir, { recursive: true });
// Through a temporary name and a rename: a running `infra` (kubectl's, mid-request) keeps its file.
await copyFile(await buildExecutable(host), `${target}.tmp`);
await rename(`${target}.tmp`, target);
console.log(`installed ${target}`);
if (!(process.env['PATH'] ?? '').split(delimiter).includes(dir)) {
  console.log(`${dir} is not on your PATH: add it (export PATH="${dir}:$PATH" in your shell's profile), or run make install PREFIX=<a directory on it>`);
}
