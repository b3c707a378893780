// infra users list|add|remove|reset-password: the people Infra knows. Users of an identity
// provider appear at their first login; `add` creates a User ahead of it, and with
// --password gives a built-in user a one-time password to change at the first login.
import type { Command } from 'commander';
import type { User } from '../../api/v1alpha1/types.ts';
import { CliError } from '../errors.ts';
import type { Io } from '../io.ts';
import { outputOption, render, table, type Format } from '../output.ts';
import { createObject, deleteObject, listObjects, relativeTime } from '../resources.ts';
import { loggedIn } from '../session.ts';

export function registerUsers(program: Command, io: Io): void {
  const users = program
    .command('users')
    .description('list, add and remove users (Infra admins; view admins may list)')
    .addHelpText(
      'after',
      `
Examples:
  $ infra users list
  $ infra users add carl@example.com                # logs in through an identity provider
  $ infra users add carl@example.com --password     # prints a one-time password
  $ infra users reset-password carl@example.com
  $ infra users remove carl@example.com`,
    );
  users
    .command('list')
    .alias('ls')
    .description('list users with their identity provider and last login')
    .addOption(outputOption())
    .addHelpText('after', '\nExamples:\n  $ infra users list\n  $ infra users list -o json')
    .action((options: { output: Format }) => listUsers(io, options.output));
  users
    .command('add')
    .description('create a User ahead of their first login (Grants for their email apply from then on)')
    .argument('<email>', "the user's email")
    .option('--password', 'also set a one-time password (printed once) that they must change at their first login')
    .addHelpText('after', '\nExamples:\n  $ infra users add carl@example.com\n  $ infra users add carl@example.com --password')
    .action((email: string, options: { password?: boolean }) => addUser(io, email, options.password ?? false));
  users
    .command('reset-password')
    .description('give a user a new one-time password (printed once); their sessions end and they must change it at their next login')
    .argument('<email>', "the user's email")
    .addHelpText('after', '\nExamples:\n  $ infra users reset-password carl@example.com')
    .action((email: string) => resetPassword(io, email));
  users
    .command('remove')
    .alias('rm')
    .description('delete a user: every session and access key of theirs stops working at once')
    .argument('<email>', "the user's email")
    .addHelpText('after', '\nExamples:\n  $ infra users remove carl@example.com')
    .action((email: string) => removeUser(io, email));
}

export async function listUsers(io: Io, format: Format): Promise<void> {
  const { client } = loggedIn(io);
  const users = (await listObjects<User>(client, 'User')).sort((a, b) => a.spec.email.localeCompare(b.spec.email));
  if (format !== 'table') return io.out(render(users, format));
  if (users.length === 0) return io.out('No users yet: add one with `infra users add EMAIL`, or log in through an identity provider.');
  io.out(
    table(
      [`EMAIL (${users.length})`, 'PROVIDER', 'GROUPS', 'LAST LOGIN'],
      users.map((u) => [
        u.spec.email,
        u.status?.provider ?? (u.spec.passwordSecretRef ? 'infra' : '—'),
        (u.status?.groups ?? []).join(', ') || '—',
        relativeTime(u.status?.lastLoginAt),
      ]),
    ),
  );
}

export async function addUser(io: Io, email: string, withPassword: boolean): Promise<void> {
  if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) throw new CliError(`"${email}" is not an email address; use e.g. carl@example.com`);
  const { client } = loggedIn(io);
  const existing = (await listObjects<User>(client, 'User')).find((u) => u.spec.email.toLowerCase() === email.toLowerCase());
  if (existing) throw new CliError(`${email} already exists (User ${existing.metadata.name})`);
  const user = await createObject<User>(client, 'User', { spec: { email } });
  io.err(`User ${email} created (User ${user.metadata.name}).`);
  if (withPassword) await resetPassword(io, email);
}

/** Prints the one-time password alone on stdout, so scripts can capture it. */
export async function resetPassword(io: Io, email: string): Promise<void> {
  const { client } = loggedIn(io);
  const { oneTimePassword } = await client.create('PasswordReset', { user: email });
  io.err(`One-time password for ${email} (shown once; they must change it at their first login with infra login):`);
  io.out(oneTimePassword);
}

export async function removeUser(io: Io, email: string): Promise<void> {
  const { client } = loggedIn(io);
  const user = (await listObjects<User>(client, 'User')).find((u) => u.spec.email.toLowerCase() === email.toLowerCase());
  if (!user) throw new CliError(`no user ${email}; see \`infra users list\``);
  await deleteObject(client, 'User', user.metadata.name!);
  io.out(`User ${email} removed; their sessions and access keys are revoked.`);
}
