// infra grants list|add|remove: who may reach which destination (or namespace) with
// which role. `add` creates the same Grant a YAML file would; `remove` deletes every
// Grant that matches.
import { Option, type Command } from 'commander';
import type { Grant, GrantSpec } from '../../api/v1alpha1/types.ts';
import { grantDestination, infraResource } from '../../api/grants.ts';
import { formatDuration, parseDuration } from '../../api/duration.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import { findCondition } from '../../lib/conditions.ts';
import type { InfraClient } from '../api.ts';
import { CliError } from '../errors.ts';
import type { Io } from '../io.ts';
import { outputOption, render, table, type Format } from '../output.ts';
import { createObject, deleteObject, getObject, listObjects, relativeTime } from '../resources.ts';
import { loggedIn } from '../session.ts';

interface SubjectOptions {
  group?: string;
}

const groupOption = () =>
  new Option(
    '-g, --group <name>',
    "the subject is this group instead of a user: <provider>:<group> for an identity provider's (okta:Engineering), a built-in Group's name (oncall)",
  );

export function registerGrants(program: Command, io: Io): void {
  const grants = program
    .command('grants')
    .description('list, add and remove Grants: a user or group, a role, a destination or destination.namespace (Infra admins; view admins may list)')
    .addHelpText(
      'after',
      `
Examples:
  $ infra grants list
  $ infra grants add -g okta:Engineering production --role view
  $ infra grants add -g okta:Engineering production.web --role edit
  $ infra grants add suzie@example.com production --role admin --for 1h
  $ infra grants remove suzie@example.com production --role admin`,
    );
  grants
    .command('list')
    .alias('ls')
    .description('list Grants, users first, then groups')
    .option('--user <email>', 'only Grants for this user')
    .addOption(groupOption().conflicts('user'))
    .option('-d, --destination <dest>', 'only Grants on this destination (and its namespaces)')
    .addOption(outputOption())
    .addHelpText(
      'after',
      `
Examples:
  $ infra grants list
  $ infra grants list -d production
  $ infra grants list --group okta:Engineering -o yaml`,
    )
    .action((options: { user?: string; group?: string; destination?: string; output: Format }) => listGrants(io, options));
  grants
    .command('add')
    .description('grant a user (by email) or a group (-g) a role on a destination or destination.namespace')
    .argument('<subject-or-resource...>', 'USER RESOURCE, or RESOURCE with -g GROUP')
    .addOption(groupOption())
    .requiredOption('--role <role>', 'a ClusterRole at the destination: view, edit, admin, cluster-admin, exec, logs, port-forward, or your own')
    .option('--for <duration>', 'the Grant expires after this long, e.g. 1h, 8h, 7d')
    .option('--wait [timeout]', "wait until the destination's connector has bound the Grant (Synced=True), at most this long (default 60s)")
    .addHelpText(
      'after',
      `
Examples:
  $ infra grants add -g okta:Engineering production --role view
  $ infra grants add carl@example.com development --role edit
  $ infra grants add suzie@example.com production --role admin --for 1h   # on-call escalation
  $ infra grants add -g Oncall production --role edit --wait              # returns once kubectl works
  $ infra grants add -g Admins infra --role admin                          # admins of Infra itself`,
    )
    .action((args: string[], options: AddOptions) => addGrant(io, args, options));
  grants
    .command('remove')
    .alias('rm')
    .description('remove the Grants of a user or group (-g) on a resource; with --role, only that role')
    .argument('<subject-or-resource...>', 'USER RESOURCE, or RESOURCE with -g GROUP')
    .addOption(groupOption())
    .option('--role <role>', 'only the Grant with this role')
    .addHelpText(
      'after',
      `
Examples:
  $ infra grants remove suzie@example.com production --role admin
  $ infra grants remove -g okta:Engineering production.web`,
    )
    .action((args: string[], options: SubjectOptions & { role?: string }) => removeGrants(io, args, options));
}

/** USER RESOURCE or, with -g, RESOURCE: the subject and resource of a Grant. */
export function subjectAndResource(args: string[], options: SubjectOptions): Pick<GrantSpec, 'user' | 'group' | 'resource'> {
  if (options.group !== undefined) {
    if (args.length !== 1)
      throw new CliError(`with -g ${options.group}, name only the resource, e.g. infra grants add -g ${options.group} production.web --role edit`);
    return { group: options.group, resource: args[0]! };
  }
  if (args.length !== 2)
    throw new CliError(
      'name a user and a resource (infra grants add carl@example.com production --role edit), or a group with -g (infra grants add -g okta:Engineering production --role view)',
    );
  if (!args[0]!.includes('@')) throw new CliError(`"${args[0]}" is not an email; for a group use -g ${args[0]}`);
  return { user: args[0]!, resource: args[1]! };
}

interface AddOptions extends SubjectOptions {
  role: string;
  for?: string;
  /** The most to wait for Synced=True: true (the flag alone) or a duration; absent without --wait. */
  wait?: string | boolean;
}

export async function addGrant(io: Io, args: string[], options: AddOptions): Promise<void> {
  const spec: GrantSpec = { ...subjectAndResource(args, options), role: options.role };
  const waitMs = waitTimeout(options.wait);
  if (options.for !== undefined) {
    const ms = parseDuration(options.for);
    if (ms === undefined || ms <= 0) throw new CliError(`--for ${options.for} is not a duration; use e.g. 30m, 1h, 8h or 7d`);
    spec.expiresAt = new Date(Date.now() + ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
  }
  const { client } = loggedIn(io);
  const grant = await createObject<Grant>(client, 'Grant', { spec });
  const until = grant.spec.expiresAt ? ` until ${grant.spec.expiresAt}` : '';
  io.out(`${describeSubject(grant.spec)} has role ${grant.spec.role} on ${grant.spec.resource}${until} (Grant ${grant.metadata.name})`);
  if (waitMs !== undefined && grant.spec.resource !== infraResource) await waitForSynced(io, client, grant.metadata.name!, waitMs);
}

const defaultWaitMs = 60_000;
const syncPollMs = 500;

function waitTimeout(wait: string | boolean | undefined): number | undefined {
  if (wait === undefined || wait === false) return undefined;
  if (wait === true) return defaultWaitMs;
  const ms = parseDuration(wait);
  if (!ms) throw new CliError(`--wait ${wait} is not a duration; use e.g. 30s or 2m`);
  return ms;
}

/** Until the Grant's destination reports it bound; fails with the Grant's own reason when that does not come in time. */
async function waitForSynced(io: Io, client: InfraClient, name: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let grant: Grant | undefined;
  for (;;) {
    grant = await getObject<Grant>(client, 'Grant', name);
    if (!grant) throw new CliError(`Grant ${name} was deleted while waiting for it to be bound`);
    const synced = findCondition(grant.status?.conditions, 'Synced');
    if (synced?.status === 'True' && (synced.observedGeneration === undefined || synced.observedGeneration >= (grant.metadata.generation ?? 0))) {
      io.out(`Bound in ${grantDestination(grant)}: ${synced.message}`);
      return;
    }
    if (Date.now() + syncPollMs > deadline) break;
    await sleep(syncPollMs);
  }
  const synced = findCondition(grant.status?.conditions, 'Synced');
  const ready = findCondition(grant.status?.conditions, 'Ready');
  const why =
    synced?.status === 'False'
      ? `${synced.reason}: ${synced.message}`
      : ready?.status === 'False'
        ? `${ready.reason}: ${ready.message}`
        : `the connector of ${grantDestination(grant)} has not reported it (is it connected? infra destinations list)`;
  throw new CliError(`Grant ${name} is not bound after ${formatDuration(timeoutMs)}: ${why}`);
}

export async function removeGrants(io: Io, args: string[], options: SubjectOptions & { role?: string }): Promise<void> {
  const wanted = subjectAndResource(args, options);
  const { client } = loggedIn(io);
  const matches = (await listObjects<Grant>(client, 'Grant')).filter(
    (g) =>
      g.spec.resource === wanted.resource &&
      (options.role === undefined || g.spec.role === options.role) &&
      (wanted.user !== undefined ? g.spec.user?.toLowerCase() === wanted.user.toLowerCase() : g.spec.group === wanted.group),
  );
  const subject = describeSubject(wanted);
  if (matches.length === 0)
    throw new CliError(`${subject} has no Grant${options.role ? ` with role ${options.role}` : ''} on ${wanted.resource}; see \`infra grants list\``);
  for (const grant of matches) {
    await deleteObject(client, 'Grant', grant.metadata.name!);
    io.out(`${subject} no longer has role ${grant.spec.role} on ${grant.spec.resource} (Grant ${grant.metadata.name} deleted)`);
  }
}

export async function listGrants(io: Io, options: { user?: string; group?: string; destination?: string; output: Format }): Promise<void> {
  const { client } = loggedIn(io);
  const grants = (await listObjects<Grant>(client, 'Grant')).filter(
    (g) =>
      (options.user === undefined || g.spec.user?.toLowerCase() === options.user.toLowerCase()) &&
      (options.group === undefined || g.spec.group === options.group) &&
      (options.destination === undefined || grantDestination(g) === options.destination),
  );
  if (options.output !== 'table') return io.out(render(grants, options.output));
  if (grants.length === 0) return io.out('No Grants yet: add one with `infra grants add`.');
  const byResource = (a: Grant, b: Grant) => a.spec.resource.localeCompare(b.spec.resource) || a.spec.role.localeCompare(b.spec.role);
  const users = grants.filter((g) => g.spec.user !== undefined).sort((a, b) => a.spec.user!.localeCompare(b.spec.user!) || byResource(a, b));
  const groups = grants.filter((g) => g.spec.group !== undefined).sort((a, b) => a.spec.group!.localeCompare(b.spec.group!) || byResource(a, b));
  const withExpiry = grants.some((g) => g.spec.expiresAt !== undefined);
  const section = (title: string, list: Grant[], subject: (g: Grant) => string) =>
    table(
      [`${title} (${list.length})`, 'ROLE', 'DESTINATION', ...(withExpiry ? ['EXPIRES'] : [])],
      list.map((g) => [subject(g), g.spec.role, g.spec.resource, ...(withExpiry ? [expiry(g)] : [])]),
    );
  const sections = [
    ...(users.length > 0 ? [section('USER', users, (g) => g.spec.user!)] : []),
    ...(groups.length > 0 ? [section('GROUP', groups, (g) => g.spec.group!)] : []),
  ];
  io.out(sections.join('\n\n'));
}

function expiry(grant: Grant): string {
  if (grant.status?.expired) return 'expired';
  return grant.spec.expiresAt ? relativeTime(grant.spec.expiresAt) : '—';
}

function describeSubject(spec: Pick<GrantSpec, 'user' | 'group'>): string {
  return spec.user !== undefined ? spec.user : `group ${spec.group}`;
}
