// infra users list|add|remove: the people Infra knows. Users of an identity provider
// appear at their first login; `add` creates a User ahead of it.
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
  $ infra users add carl@example.com
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
    .addHelpText('after', '\nExamples:\n  $ infra users add carl@example.com')
    .action((email: string) => addUser(io, email));
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
      users.map((u) => [u.spec.email, u.status?.provider ?? (u.spec.passwordSecretRef ? 'infra' : '—'), (u.status?.groups ?? []).join(', ') || '—', relativeTime(u.status?.lastLoginAt)]),
    ),
  );
}

export async function addUser(io: Io, email: string): Promise<void> {
  if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) throw new CliError(`"${email}" is not an email address; use e.g. carl@example.com`);
  const { client } = loggedIn(io);
  const existing = (await listObjects<User>(client, 'User')).find((u) => u.spec.email.toLowerCase() === email.toLowerCase());
  if (existing) throw new CliError(`${email} already exists (User ${existing.metadata!.name})`);
  const user = await createObject<User>(client, 'User', { spec: { email } });
  io.err(`User ${email} created (User ${user.metadata!.name}).`);
}

export async function removeUser(io: Io, email: string): Promise<void> {
  const { client } = loggedIn(io);
  const user = (await listObjects<User>(client, 'User')).find((u) => u.spec.email.toLowerCase() === email.toLowerCase());
  if (!user) throw new CliError(`no user ${email}; see \`infra users list\``);
  await deleteObject(client, 'User', user.metadata!.name!);
  io.out(`User ${email} removed; their sessions and access keys are revoked.`);
}
