// infra keys add NAME: access keys for automation.
import type { Command } from 'commander';
import { accessKeySpec } from '../../api/auth/v1alpha1/types.ts';
import { CliError } from '../errors.ts';
import type { Io } from '../io.ts';
import { loggedIn } from '../session.ts';

export function registerKeys(program: Command, io: Io): void {
  const keys = program
    .command('keys')
    .description('access keys for automation (CI, scripts): log in with `infra login --key` or INFRA_ACCESS_KEY')
    .addHelpText(
      'after',
      `
Examples:
  $ infra keys add ci-deploy --ttl 90d`,
    );
  keys
    .command('add')
    .description('create an access key; it is printed once, on standard output')
    .argument('<name>', 'what the key is for, a short lowercase name (e.g. ci-deploy)')
    .option('--ttl <duration>', 'how long the key lives, e.g. 12h, 30d, 365d', '30d')
    .option('--user <email>', 'create the key for another user (Infra admins only)')
    .addHelpText(
      'after',
      `
Examples:
  $ infra keys add ci-deploy
  $ infra keys add nightly --ttl 7d --user robot@example.com
  $ KEY=$(infra keys add ci-deploy) && INFRA_ACCESS_KEY=$KEY infra login https://infra.example.com`,
    )
    .action((name: string, options: { ttl: string; user?: string }) => addKey(io, name, options));
}

export async function addKey(io: Io, name: string, options: { ttl: string; user?: string }): Promise<void> {
  const parsed = accessKeySpec.safeParse({ name, ttl: options.ttl, ...(options.user ? { user: options.user } : {}) });
  if (!parsed.success) {
    const flag: Record<string, string> = { name: 'NAME', ttl: '--ttl', user: '--user' };
    throw new CliError(parsed.error.issues.map((i) => `${flag[String(i.path[0])] ?? String(i.path[0])} ${i.message}`).join('; '));
  }
  const { client } = loggedIn(io);
  const status = await client.create('AccessKey', parsed.data);
  io.out(status.accessKey);
  io.err(`Access key "${name}" for ${status.user}, expires ${status.expirationTimestamp}. It is shown only this once: store it now.`);
}
