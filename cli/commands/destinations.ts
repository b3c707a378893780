// infra destinations add|list|remove: the clusters with a connector. `add` makes a
// destination and its connector's hub identity and prints the single-use bootstrap
// credential that installs the connector; `remove` revokes that identity.
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { bootstrapPath, bootstrapSecret, type Bootstrap, type BootstrapRequest } from '../../api/connector-bootstrap.ts';
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
      'add, list and remove destinations (clusters with a connector; Infra admins, view admins may list), and print the API server configuration of a Direct one',
    )
    .addHelpText('after', '\nExamples:\n  $ infra destinations add production\n  $ infra destinations list\n  $ infra destinations remove old-staging');
  destinations
    .command('add')
    .description(
      "add a destination, or renew its connector's bootstrap credential: prints the credential (single use, short-lived) and how to install the connector",
    )
    .argument('<name>', "the destination: a DNS label, the first part of Grants' resource (production, production.web)")
    .option('--expires-in <duration>', 'how long the bootstrap credential may be used, e.g. 30m, 1h, 2d', '1h')
    .addOption(outputOption())
    .addHelpText(
      'after',
      '\nExamples:\n  $ infra destinations add production\n  $ infra destinations add staging --expires-in 2d\n  $ infra destinations add ci -o json | jq -r .bootstrapToken',
    )
    .action((name: string, options: { expiresIn: string; output: Format }) => addDestination(io, name, options));
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
    .description("delete a destination and revoke its connector's hub identity at once; uninstall the connector from the cluster too")
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

export async function addDestination(io: Io, name: string, options: { expiresIn: string; output: Format }): Promise<void> {
  const { client, server } = loggedIn(io);
  const request: BootstrapRequest = { expiresIn: options.expiresIn };
  const bootstrap = (await client.request('POST', bootstrapPath(name), request)) as Bootstrap;
  if (options.output !== 'table') return io.out(render(bootstrap, options.output));
  const values = {
    hub: { enabled: false },
    spoke: { enabled: true },
    namespace: { create: false },
    connector: { config: { destination: name, issuer: server } },
  };
  const namespace = 'infra-system';
  io.out(
    [
      `Destination ${name} is ready for its connector. Its bootstrap credential, good once, until ${bootstrap.expiresAt}:`,
      '',
      `  ${bootstrap.bootstrapToken}`,
      '',
      `Install the connector in the ${name} cluster: the credential goes in the Secret ${bootstrapSecret.name}, the Helm values in ${name}-connector.yaml`,
      '(add connector.config.proxy.url, where users reach it):',
      '',
      stringify(values, { lineWidth: 0 })
        .trimEnd()
        .split('\n')
        .map((line) => `  ${line}`)
        .join('\n'),
      '',
      `  $ kubectl create namespace ${namespace}`,
      `  $ kubectl -n ${namespace} create secret generic ${bootstrapSecret.name} --from-literal=${bootstrapSecret.key}=${bootstrap.bootstrapToken}`,
      `  $ helm install infra charts/infra -n ${namespace} -f ${name}-connector.yaml`,
      '',
      'or with config/spoke: the same Secret, and the settings in the connector config (docs/connector.md). The connector exchanges the',
      'credential for its own hub identity and renews that itself; if the credential expires unused, run this again, replace the Secret',
      `and restart the connector (kubectl -n ${namespace} rollout restart deployment/infra-connector).`,
    ].join('\n'),
  );
}

export async function removeDestination(io: Io, name: string): Promise<void> {
  const { client } = loggedIn(io);
  await deleteObject(client, 'Destination', name);
  io.out(`Destination ${name} removed; its connector's hub identity is revoked`);
}
