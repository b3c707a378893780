#!/usr/bin/env node
// infra: the command line. `infra tokens` (run by kubectl for every request) takes a
// fast path that loads neither the argument parser nor the HTTPS client when its
// cached token is fresh; every other command loads the full program.
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// A reader that stops early (`infra … | head`, `| grep -q`) closes the pipe: end quietly
// with the status of a process killed by SIGPIPE (128 + 13), as a Unix tool would.
const closedPipeStatus = 141;
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
  process.exit(closedPipeStatus);
});

const args = process.argv.slice(2);
if (args[0] === 'tokens' && !args.includes('--help') && !args.includes('-h')) {
  const { tokensMain } = await import('./tokens.ts');
  process.exitCode = await tokensMain(args.slice(1));
} else {
  const [{ CommanderError }, { buildProgram }, { processIo }, { describeError }] = await Promise.all([
    import('commander'),
    import('./program.ts'),
    import('./io.ts'),
    import('./errors.ts'),
  ]);
  const script = realpathSync(fileURLToPath(import.meta.url));
  try {
    await buildProgram(processIo(script)).parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) process.exitCode = err.exitCode;
    else {
      process.stderr.write(`infra: ${describeError(err)}\n`);
      process.exitCode = 1;
    }
  }
}
