#!/usr/bin/env node
// infra: the command line. `infra tokens` (run by kubectl for every request) takes a
// fast path that loads neither the argument parser nor the HTTPS client when its
// cached token is fresh; every other command loads the full program. No top-level
// await: the single executable (hack/build.ts) runs this as CommonJS.
import { realpathSync } from 'node:fs';
import { isSea } from 'node:sea';
import { fileURLToPath } from 'node:url';
import type { RunningProgram } from './self.ts';

// A reader that stops early (`infra … | head`, `| grep -q`) closes the pipe: end quietly
// with the status of a process killed by SIGPIPE (128 + 13), as a Unix tool would.
const closedPipeStatus = 141;
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
  process.exit(closedPipeStatus);
});

/** This program, for the kubeconfig's exec entries: the single executable, or Node and this script. */
function runningProgram(): RunningProgram {
  if (isSea()) return { executable: process.execPath };
  return { node: process.execPath, script: realpathSync(fileURLToPath(import.meta.url)) };
}

async function main(args: string[]): Promise<number> {
  if (args[0] === 'tokens' && !args.includes('--help') && !args.includes('-h')) {
    const { tokensMain } = await import('./tokens.ts');
    return tokensMain(args.slice(1));
  }
  const [{ CommanderError }, { buildProgram }, { processIo }] = await Promise.all([import('commander'), import('./program.ts'), import('./io.ts')]);
  try {
    await buildProgram(processIo(runningProgram())).parseAsync(process.argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    throw err;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  async (err: unknown) => {
    const { describeError } = await import('./errors.ts');
    process.stderr.write(`infra: ${describeError(err)}\n`);
    process.exitCode = 1;
  },
);
