// The life of an Infra server program: parse configuration (exit 2 with the reason on
// bad input), --help and --version, start, and stop cleanly on SIGTERM or SIGINT.
import { ConfigError, type ParsedArgs } from './config.ts';
import { errorMessage } from './errors.ts';
import { createLogger, type Logger } from './log.ts';
import { version } from './version.ts';

export interface Program<C extends { logLevel: string }> {
  name: string;
  usage: string;
  load: (argv: string[], env: NodeJS.ProcessEnv) => ParsedArgs<C>;
  create: (config: C, logger: Logger) => Promise<{ start(): Promise<void>; stop(): Promise<void> }>;
}

export async function runProgram<C extends { logLevel: string }>(program: Program<C>): Promise<void> {
  let parsed: ParsedArgs<C>;
  try {
    parsed = program.load(process.argv.slice(2), process.env);
  } catch (err) {
    console.error(`${program.name}: ${err instanceof ConfigError ? err.message : errorMessage(err)}`);
    process.exit(2);
  }
  if (parsed.kind === 'help') {
    console.log(program.usage);
    process.exit(0);
  }
  if (parsed.kind === 'version') {
    console.log(`${program.name} ${version}`);
    process.exit(0);
  }

  const logger = createLogger(program.name, parsed.config.logLevel);
  let instance: Awaited<ReturnType<Program<C>['create']>>;
  try {
    instance = await program.create(parsed.config, logger);
  } catch (err) {
    logger.fatal({ err: errorMessage(err) }, `${program.name} could not load its configuration`);
    process.exit(2);
  }
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    await instance.stop();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('unhandledRejection', (err) => logger.error({ err: errorMessage(err) }, 'unhandled rejection'));
  try {
    await instance.start();
  } catch (err) {
    logger.fatal({ err: errorMessage(err) }, `${program.name} could not start`);
    process.exit(1);
  }
}
