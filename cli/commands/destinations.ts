// infra destinations list|remove: the clusters whose connectors registered with Infra.
import type { Command } from 'commander';
import type { Destination } from '../../api/v1alpha1/types.ts';
import type { Io } from '../io.ts';
import { outputOption, render, table, type Format } from '../output.ts';
import { deleteObject, listObjects, relativeTime } from '../resources.ts';
import { loggedIn } from '../session.ts';
import { registerAuthnConfig } from './authn-config.ts';

export function registerDestinations(program: Command, io: Io): void {
  const destinations = program
    .command('destinations')
    .description(
      'list and remove destinations (clusters with a connector; Infra admins, view admins may list), and print the API server configuration of a Direct one',
    )
    .addHelpText('after', '\nExamples:\n  $ infra destinations list\n  $ infra destinations remove old-staging');
  destinations
    .command('list')
    .alias('ls')
    .description('list destinations: connected or not, Kubernetes version, last heartbeat')
    .addOption(outputOption())
    .addHelpText('after', '\nExamples:\n  $ infra destinations list\n  $ infra destinations list -o json')
    .action((options: { output: Format }) => listDestinations(io, options.output));
  destinations
    .command('remove')
    .alias('rm')
    .description('delete a destination: its connector stops being trusted; uninstall the connector from the cluster too')
    .argument('<name>', 'the destination')
    .addHelpText('after', '\nExamples:\n  $ infra destinations remove old-staging')
    .action((name: string) => removeDestination(io, name));
  registerAuthnConfig(destinations, io);
}

export async function listDestinations(io: Io, format: Format): Promise<void> {
  const { client } = loggedIn(io);
  const destinations = await listObjects<Destination>(client, 'Destination');
  if (format !== 'table') return io.out(render(destinations, format));
  if (destinations.length === 0) return io.out('No destinations yet: install a connector in a cluster (docs/connector.md).');
  io.out(
    table(
      [`NAME (${destinations.length})`, 'CONNECTED', 'KUBERNETES', 'LAST SEEN', 'URL'],
      destinations.map((d) => [
        d.metadata.name!,
        d.status?.connected ? 'yes' : 'no',
        d.status?.kubernetesVersion ?? '—',
        relativeTime(d.status?.lastSeenAt),
        d.spec.url ?? '—',
      ]),
    ),
  );
}

export async function removeDestination(io: Io, name: string): Promise<void> {
  const { client } = loggedIn(io);
  await deleteObject(client, 'Destination', name);
  io.out(`Destination ${name} removed`);
}
