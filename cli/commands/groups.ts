// infra groups list|add|remove|adduser|removeuser: built-in Groups, for people who do
// not come from an identity provider (IdP groups need no object: Grants name them).
import type { Command } from 'commander';
import type { Group } from '../../api/v1alpha1/types.ts';
import { CliError } from '../errors.ts';
import type { Io } from '../io.ts';
import { outputOption, render, table, type Format } from '../output.ts';
import { createObject, deleteObject, listObjects, updateSpec } from '../resources.ts';
import { loggedIn } from '../session.ts';

export function registerGroups(program: Command, io: Io): void {
  const groups = program
    .command('groups')
    .description('list and change built-in groups (Infra admins; view admins may list)')
    .addHelpText(
      'after',
      `
Examples:
  $ infra groups add Oncall --member suzie@example.com
  $ infra groups adduser Oncall carl@example.com
  $ infra groups list`,
    );
  groups
    .command('list')
    .alias('ls')
    .description('list built-in groups and their members')
    .addOption(outputOption())
    .addHelpText('after', '\nExamples:\n  $ infra groups list\n  $ infra groups list -o yaml')
    .action((options: { output: Format }) => listGroups(io, options.output));
  groups
    .command('add')
    .description('create a built-in group')
    .argument('<name>', 'the group name Grants use, e.g. Oncall')
    .option('--member <email...>', 'initial members')
    .addHelpText('after', '\nExamples:\n  $ infra groups add Oncall\n  $ infra groups add Oncall --member suzie@example.com carl@example.com')
    .action((name: string, options: { member?: string[] }) => addGroup(io, name, options.member ?? []));
  groups
    .command('remove')
    .alias('rm')
    .description('delete a built-in group (its Grants stay, and apply to nobody until the group is back)')
    .argument('<name>', 'the group')
    .addHelpText('after', '\nExamples:\n  $ infra groups remove Oncall')
    .action((name: string) => removeGroup(io, name));
  groups
    .command('adduser')
    .description('add a member to a built-in group')
    .argument('<group>', 'the group')
    .argument('<email>', "the member's email")
    .addHelpText('after', '\nExamples:\n  $ infra groups adduser Oncall carl@example.com')
    .action((group: string, email: string) => changeMembers(io, group, email, 'add'));
  groups
    .command('removeuser')
    .description('remove a member from a built-in group')
    .argument('<group>', 'the group')
    .argument('<email>', "the member's email")
    .addHelpText('after', '\nExamples:\n  $ infra groups removeuser Oncall carl@example.com')
    .action((group: string, email: string) => changeMembers(io, group, email, 'remove'));
}

export async function listGroups(io: Io, format: Format): Promise<void> {
  const { client } = loggedIn(io);
  const groups = await listObjects<Group>(client, 'Group');
  if (format !== 'table') return io.out(render(groups, format));
  if (groups.length === 0) return io.out('No built-in groups: add one with `infra groups add NAME`.');
  io.out(
    table(
      [`NAME (${groups.length})`, 'MEMBERS'],
      groups.map((g) => [g.metadata.name!, (g.spec.members ?? []).join(', ') || '—']),
    ),
  );
}

export async function addGroup(io: Io, name: string, members: string[]): Promise<void> {
  const { client } = loggedIn(io);
  await createObject<Group>(client, 'Group', { metadata: { name }, spec: members.length > 0 ? { members } : {} });
  io.out(`Group ${name} created${members.length > 0 ? ` with ${members.join(', ')}` : ''}`);
}

export async function removeGroup(io: Io, name: string): Promise<void> {
  const { client } = loggedIn(io);
  await deleteObject(client, 'Group', name);
  io.out(`Group ${name} removed`);
}

export async function changeMembers(io: Io, group: string, email: string, change: 'add' | 'remove'): Promise<void> {
  const { client } = loggedIn(io);
  const same = (m: string) => m.toLowerCase() === email.toLowerCase();
  const updated = await updateSpec<Group>(client, 'Group', group, (current) => {
    const members = current.spec.members ?? [];
    if (change === 'add' && members.some(same)) return undefined;
    if (change === 'remove' && !members.some(same)) throw new CliError(`${email} is not a member of ${group}`);
    return { members: change === 'add' ? [...members, email] : members.filter((m) => !same(m)) };
  });
  if (!updated && change === 'add') return io.out(`${email} is already a member of ${group}`);
  io.out(change === 'add' ? `${email} added to ${group}` : `${email} removed from ${group}`);
}
