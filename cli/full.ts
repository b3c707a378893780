// Everything `infra` does but print a usable cached token (cli/main.ts does that): the
// command tree, `infra tokens` on a cache miss, and errors. Loaded on demand: a chunk of
// the npm package, an asset compiled on first use in the single executable (hack/executable.ts).
import { realpathSync } from 'node:fs';
import { isSea } from 'node:sea';
import { exitOnClosedPipe } from './cached-token.ts';
import type { RunningProgram } from './self.ts';

/** Runs `infra ARGS` (argv: Node's process.argv, for commander); returns the exit code. */
export async function runCommand(argv: string[]): Promise<number> {
  process.stdout.on('error', exitOnClosedPipe);
  const args = argv.slice(2);
  try {
    if (args[0] === 'tokens' && !args.includes('--help') && !args.includes('-h')) {
      const { tokensMain } = await import('./tokens.ts');
      return await tokensMain(args.slice(1));
    }
    const [{ CommanderError }, { buildProgram }, { processIo }] = await Promise.all([import('commander'), import('./program.ts'), import('./io.ts')]);
    try {
      await buildProgram(processIo(runningProgram(argv))).parseAsync(argv);
      return 0;
    } catch (err) {
      if (err instanceof CommanderError) return err.exitCode;
      throw err;
    }
  } catch (err) {
    const { describeError } = await import('./errors.ts');
    process.stderr.write(`infra: ${describeError(err)}\n`);
    return 1;
  }
}

/** This program, for the kubeconfig's exec entries: the single executable, or Node and this script. */
function runningProgram(argv: string[]): RunningProgram {
  if (isSea()) return { executable: process.execPath };
  // Node makes the script's path absolute; the real path outlives an npm link's symlink.
  return { node: process.execPath, script: realpathSync(argv[1]!) };
}
