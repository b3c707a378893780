// infra keys list|add|remove: access keys for automation.
import type { Command } from 'commander';
import { accessKeySpec, apiVersion } from '../../api/auth/v1alpha1/types.ts';
import { CliError } from '../errors.ts';
import type { Io } from '../io.ts';
import { outputOption, render, table, type Format } from '../output.ts';
import { relativeTime } from '../resources.ts';
import { loggedIn } from '../session.ts';

interface AccessKeyItem {
  name: string;
  user: string;
  expirationTimestamp: string;
  lastUsedTimestamp: string;
}

const keysPath = (name?: string, user?: string) =>
  `/apis/${apiVersion}/accesskeys${name === undefined ? '' : `/${encodeURIComponent(name)}`}${user ? `?user=${encodeURIComponent(user)}` : ''}`;

export function registerKeys(program: Command, io: Io): void {
  const keys = program
    .command('keys')
    .description('access keys for automation (CI, scripts): log in with `infra login --key` or INFRA_ACCESS_KEY')
    .addHelpText(
      'after',
      `
Examples:
  $ infra keys add ci-deploy --ttl 90d
  $ infra keys list
  $ infra keys remove ci-deploy`,
    );
  keys
    .command('list')
    .alias('ls')
    .description('list your access keys (an Infra admin may name another user)')
    .option('--user <email>', "another user's keys (Infra admins only)")
    .addOption(outputOption())
    .addHelpText('after', '\nExamples:\n  $ infra keys list\n  $ infra keys list --user robot@example.com -o json')
    .action((options: { user?: string; output: Format }) => listKeys(io, options));
  keys
    .command('remove')
    .alias('rm')
    .description('revoke an access key at once: every session made with it ends too')
    .argument('<name>', 'the key, by the name it was created with')
    .option('--user <email>', "another user's key (Infra admins only)")
    .addHelpText('after', '\nExamples:\n  $ infra keys remove ci-deploy\n  $ infra keys remove nightly --user robot@example.com')
    .action((name: string, options: { user?: string }) => removeKey(io, name, options.user));
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

export async function listKeys(io: Io, options: { user?: string; output: Format }): Promise<void> {
  const { client } = loggedIn(io);
  const { items } = (await client.request('GET', keysPath(undefined, options.user))) as { items: AccessKeyItem[] };
  if (options.output !== 'table') return io.out(render(items, options.output));
  if (items.length === 0) return io.out('No access keys: create one with `infra keys add NAME`.');
  io.out(
    table(
      [`NAME (${items.length})`, 'USER', 'EXPIRES', 'LAST USED'],
      items.map((k) => [k.name, k.user, relativeTime(k.expirationTimestamp), relativeTime(k.lastUsedTimestamp)]),
    ),
  );
}

export async function removeKey(io: Io, name: string, user?: string): Promise<void> {
  const { client } = loggedIn(io);
  await client.request('DELETE', keysPath(name, user));
  io.out(`Access key "${name}" revoked`);
}
