// infra list: the destinations and namespaces the user can reach, with roles.
import type { Command } from 'commander';
import type { AccessReviewStatus } from '../../api/auth/v1alpha1/types.ts';
import { sameUser } from '../../api/requests.ts';
import type { AccessRequest } from '../../api/v1alpha1/types.ts';
import type { InfraClient } from '../api.ts';
import { ApiStatusError, CliError, describeError } from '../errors.ts';
import { listObjects } from '../resources.ts';
import { requestTable } from './requests.ts';
import type { Io } from '../io.ts';
import { outputOption, render, table, type Format } from '../output.ts';
import { loggedIn, writeContexts } from '../session.ts';

export function registerList(program: Command, io: Io): void {
  program
    .command('list')
    .alias('ls')
    .description('list the destinations (clusters and namespaces) you can reach and your roles there; refreshes the kubeconfig contexts')
    .addOption(outputOption())
    .addHelpText(
      'after',
      `
Examples:
  $ infra list
  $ infra list -o json | jq -r '.destinations[].name'`,
    )
    .action((options: { output: Format }) => list(io, options.output));
}

/** One row per destination with cluster-wide roles and one per namespace: [name, roles]. */
export function accessRows(review: AccessReviewStatus): string[][] {
  const rows: string[][] = [];
  for (const dest of review.destinations) {
    const note = dest.connected ? '' : '  (not connected)';
    if (dest.clusterRoles.length > 0) rows.push([dest.name, dest.clusterRoles.join(', ') + note]);
    for (const ns of dest.namespaces) rows.push([`${dest.name}.${ns.name}`, ns.roles.join(', ') + note]);
  }
  return rows;
}

export async function list(io: Io, format: Format): Promise<void> {
  const { client } = loggedIn(io);
  const review = await client.create('AccessReview', {});
  try {
    writeContexts(io, review);
  } catch (err) {
    if (!(err instanceof CliError)) throw err;
    io.err(`warning: ${describeError(err)}`);
  }
  if (format !== 'table') {
    const data = {
      user: review.user,
      ...(review.infraRole ? { infraRole: review.infraRole } : {}),
      destinations: review.destinations.map(({ caBundle: _, ...rest }) => rest),
    };
    io.out(render(data, format));
    return;
  }
  const rows = accessRows(review);
  const pending = await pendingRequests(client, review.user.email);
  const waiting = pending.length > 0 ? `\n\nYour pending access requests:\n${requestTable(pending)}` : '';
  if (rows.length === 0) {
    io.out(`${review.user.email} has no access to any destination yet: ask an Infra admin for a Grant.${waiting}`);
    return;
  }
  io.out(table([`NAME (${rows.length})`, 'ACCESS'], rows) + waiting);
}

/** The caller's own requests still waiting for a decision; none from a server without access requests. */
async function pendingRequests(client: InfraClient, email: string): Promise<AccessRequest[]> {
  try {
    const mine = await listObjects<AccessRequest>(client, 'AccessRequest');
    return mine.filter((r) => r.status?.state === 'Pending' && sameUser(r.status.requester, email));
  } catch (err) {
    if (err instanceof ApiStatusError && err.code === 404) return [];
    throw err;
  }
}
