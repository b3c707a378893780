// infra request ROLE RESOURCE: ask for time-bound access under an AccessPolicy; infra
// requests list|approve|deny|cancel|revoke: see and decide requests. The server stamps who
// asked and decides what the policy allows; every refusal comes back naming the policy.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import { parseDuration } from '../../api/duration.ts';
import { infraResource, parseResource } from '../../api/grants.ts';
import { sameUser } from '../../api/requests.ts';
import type { AccessRequest } from '../../api/v1alpha1/types.ts';
import type { InfraClient } from '../api.ts';
import { CliError } from '../errors.ts';
import type { Io } from '../io.ts';
import { outputOption, render, table, type Format } from '../output.ts';
import { createObject, getObject, listObjects, relativeTime } from '../resources.ts';
import { loggedIn, refreshKubeconfig } from '../session.ts';

const actionPath = (name: string, action: string) => `/apis/infrahq.com/v1alpha1/accessrequests/${encodeURIComponent(name)}/${action}`;
const defaultWaitMs = 30 * 60_000;
const pollMs = 500;

export function registerRequests(program: Command, io: Io): void {
  program
    .command('request')
    .description('ask for a role on a destination or destination.namespace for a while; an approver decides (docs/access-requests.md)')
    .argument('<role>', 'the role, e.g. view, edit, admin')
    .argument('<resource>', 'a destination or destination.namespace')
    .requiredOption('--for <duration>', 'for how long once approved, e.g. 30m, 2h')
    .option('--reason <text>', 'why you need it; some policies require one')
    .option('--wait [timeout]', 'wait until decided (default 30m); once approved, the kubeconfig context is ready')
    .addHelpText(
      'after',
      `
Examples:
  $ infra request edit production.web --for 2h --reason "INC-4211: roll back the deploy"
  $ infra request admin production --for 30m --reason "failover drill" --wait`,
    )
    .action((role: string, resource: string, options: RequestOptions) => request(io, role, resource, options));

  const requests = program
    .command('requests')
    .description('list access requests, and approve, deny, cancel or revoke them')
    .addHelpText(
      'after',
      `
Examples:
  $ infra requests list --pending
  $ infra requests approve carl-edit-production-web-3f9a1c --comment "ok for the incident"
  $ infra requests revoke carl-edit-production-web-3f9a1c`,
    );
  requests
    .command('list')
    .alias('ls')
    .description('the requests you may see: your own, those you may review (all of them for Infra admins)')
    .option('--mine', 'only your own requests')
    .option('--pending', 'only requests waiting for a decision')
    .addOption(outputOption())
    .addHelpText('after', '\nExamples:\n  $ infra requests list --pending\n  $ infra requests list --mine -o json')
    .action((options: { mine?: boolean; pending?: boolean; output: Format }) => listRequests(io, options));
  for (const [action, description] of [
    ['approve', 'approve a pending request (never your own)'],
    ['deny', 'deny a pending request'],
  ] as const) {
    requests
      .command(action)
      .description(description)
      .argument('<name>', 'the request, as `infra requests list` names it')
      .option('--comment <text>', 'a note kept with the review')
      .addHelpText('after', `\nExamples:\n  $ infra requests ${action} carl-edit-production-web-3f9a1c --comment "INC-4211"`)
      .action((name: string, options: { comment?: string }) => act(io, name, action, options.comment));
  }
  requests
    .command('cancel')
    .description('withdraw your own pending request')
    .argument('<name>', 'the request')
    .addHelpText('after', '\nExamples:\n  $ infra requests cancel carl-edit-production-web-3f9a1c')
    .action((name: string) => act(io, name, 'cancel'));
  requests
    .command('revoke')
    .description('end approved access now (approvers, Infra admins, or the requester)')
    .argument('<name>', 'the request')
    .option('--comment <text>', 'why')
    .addHelpText('after', '\nExamples:\n  $ infra requests revoke carl-edit-production-web-3f9a1c --comment "incident over"')
    .action((name: string, options: { comment?: string }) => act(io, name, 'revoke', options.comment));
}

interface RequestOptions {
  for: string;
  reason?: string;
  wait?: string | boolean;
}

export async function request(io: Io, role: string, resource: string, options: RequestOptions): Promise<void> {
  const ms = parseDuration(options.for);
  if (!ms) throw new CliError(`--for ${options.for} is not a duration; use e.g. 30m, 2h or 1h30m`);
  const waitMs = options.wait === undefined || options.wait === false ? undefined : options.wait === true ? defaultWaitMs : parseDuration(options.wait);
  if (waitMs === 0 || (options.wait !== undefined && options.wait !== false && waitMs === undefined)) {
    throw new CliError(`--wait ${String(options.wait)} is not a duration; use e.g. 10m`);
  }
  const { client } = loggedIn(io);
  const spec = { role, resource, duration: options.for, ...(options.reason ? { reason: options.reason } : {}) };
  const created = await createObject<AccessRequest>(client, 'AccessRequest', { spec });
  io.out(describe(created));
  if (waitMs === undefined) return;
  const decided = await waitForDecision(client, created.metadata.name!, waitMs);
  if (decided !== created.status?.state) io.out(describe((await getObject<AccessRequest>(client, 'AccessRequest', created.metadata.name!)) ?? created));
  if (decided !== 'Approved') throw new CliError(`AccessRequest ${created.metadata.name} was not approved (${decided})`);
  await waitForContext(io, client, resource, created.metadata.name!);
}

/** Until the request leaves Pending: its final or approved state. */
async function waitForDecision(client: InfraClient, name: string, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const current = await getObject<AccessRequest>(client, 'AccessRequest', name);
    const state = current?.status?.state;
    if (!current) throw new CliError(`AccessRequest ${name} was deleted while waiting for a decision`);
    if (state !== undefined && state !== 'Pending') return state;
    if (Date.now() + pollMs > deadline) throw new CliError(`AccessRequest ${name} is still pending; see it with \`infra requests list --mine\``);
    await sleep(pollMs);
  }
}

/** Until the AccessReview shows the approved access, so the kubeconfig context is there when this returns. */
async function waitForContext(io: Io, client: InfraClient, resource: string, name: string): Promise<void> {
  if (parseResource(resource).destination === infraResource) return;
  const deadline = Date.now() + 30_000;
  for (;;) {
    const { contexts } = await refreshKubeconfig(io, client);
    const context = contexts.find((c) => c.name === `infra:${resource}`) ?? contexts.find((c) => c.name === `infra:${parseResource(resource).destination}`);
    if (context) return io.out(`Use it: kubectl --context ${context.name} ...  (or infra use ${context.name.slice('infra:'.length)})`);
    if (Date.now() + pollMs > deadline)
      throw new CliError(`AccessRequest ${name} is approved, but ${resource} is not in your access yet: run \`infra list\` in a moment`);
    await sleep(pollMs);
  }
}

function describe(request: AccessRequest): string {
  const { role, resource, duration } = request.spec;
  const name = request.metadata.name;
  const state = request.status?.state ?? 'Pending';
  const why = request.status?.message ? `: ${request.status.message}` : '';
  if (state === 'Approved') return `AccessRequest ${name}: role ${role} on ${resource} approved until ${request.status?.expiresAt}${why}`;
  return `AccessRequest ${name}: role ${role} on ${resource} for ${duration} is ${state}${why}`;
}

async function act(io: Io, name: string, action: 'approve' | 'deny' | 'cancel' | 'revoke', comment?: string): Promise<void> {
  const { client } = loggedIn(io);
  const done = (await client.request('POST', actionPath(name, action), comment ? { comment } : {})) as AccessRequest;
  if (action === 'approve' && done.status?.state === 'Pending') {
    const approvals = (done.status.reviews ?? []).filter((r) => r.decision === 'Approve').length;
    return io.out(`AccessRequest ${name}: your approval is recorded (${approvals} so far); it needs more before access is granted`);
  }
  io.out(describe(done));
}

export async function listRequests(io: Io, options: { mine?: boolean; pending?: boolean; output: Format }): Promise<void> {
  const { client, session } = loggedIn(io);
  const me = session.user.email;
  const items = (await listObjects<AccessRequest>(client, 'AccessRequest')).filter(
    (r) => (!options.mine || sameUser(r.status?.requester, me)) && (!options.pending || r.status?.state === 'Pending'),
  );
  if (options.output !== 'table') return io.out(render(items, options.output));
  if (items.length === 0)
    return io.out(options.pending ? 'No pending access requests.' : 'No access requests: ask with `infra request ROLE RESOURCE --for 1h`.');
  io.out(requestTable(items));
}

export function requestTable(items: readonly AccessRequest[]): string {
  return table(
    [`NAME (${items.length})`, 'USER', 'ROLE', 'RESOURCE', 'DURATION', 'STATE', 'AGE'],
    items.map((r) => [
      r.metadata.name!,
      r.status?.requester ?? '—',
      r.spec.role,
      r.spec.resource,
      r.spec.duration,
      r.status?.state ?? 'Pending',
      relativeTime(r.metadata.creationTimestamp as unknown as string | undefined).replace(/ ago$/, ''),
    ]),
  );
}
