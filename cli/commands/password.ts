// infra password: change your built-in password (and replace a one-time one). Asks on a
// terminal; with --stdin, reads the current password and the new one from two lines.
import type { Command } from 'commander';
import { minPasswordLength } from '../../api/auth/v1alpha1/types.ts';
import type { InfraClient } from '../api.ts';
import { ApiStatusError, CliError } from '../errors.ts';
import type { Io } from '../io.ts';
import { loggedIn } from '../session.ts';

export function registerPassword(program: Command, io: Io): void {
  program
    .command('password')
    .description('change your Infra password (built-in users; people of an identity provider change it there)')
    .option('--stdin', 'read the current password and the new one from two lines of standard input')
    .addHelpText(
      'after',
      `
Examples:
  $ infra password
  $ printf '%s\\n%s\\n' "$CURRENT" "$NEW" | infra password --stdin`,
    )
    .action((options: { stdin?: boolean }) => passwordCommand(io, options.stdin ?? false));
}

async function passwordCommand(io: Io, stdin: boolean): Promise<void> {
  const { client } = loggedIn(io);
  let current: string | undefined;
  let next: string | undefined;
  if (stdin) [current, next] = (await io.readStdin()).split(/\r?\n/);
  else if (io.interactive) {
    current = await io.prompt.password('Current password:');
    next = await newPasswordPrompted(io);
  } else throw new CliError('no terminal: pipe the current password and the new one on two lines with --stdin');
  if (!current || !next) throw new CliError('give the current password and the new one on two lines of standard input');
  await changePassword(io, client, current, next);
}

/** Asks for the new password twice. */
export async function newPasswordPrompted(io: Io): Promise<string> {
  const first = await io.prompt.password(`New password (at least ${minPasswordLength} characters):`);
  const second = await io.prompt.password('New password again:');
  if (first !== second) throw new CliError('the two new passwords differ; run the command again');
  return first;
}

export async function changePassword(io: Io, client: InfraClient, currentPassword: string, newPassword: string): Promise<void> {
  try {
    const { user } = await client.create('PasswordChange', { currentPassword, newPassword });
    io.err(`Password changed for ${user}.`);
  } catch (err) {
    // 401 means the session is gone; a wrong current password or a rule the new one breaks is the server's message.
    if (err instanceof ApiStatusError && err.code !== 401) throw new CliError(`the password was not changed: ${err.message}`);
    throw err;
  }
}
