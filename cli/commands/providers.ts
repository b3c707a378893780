// infra providers list|add|remove: the identity providers people log in with.
import type { Command } from 'commander';
import type { Provider, ProviderSpec } from '../../api/v1alpha1/types.ts';
import { findCondition } from '../../lib/conditions.ts';
import { CliError } from '../errors.ts';
import type { Io } from '../io.ts';
import { outputOption, render, table, type Format } from '../output.ts';
import { createObject, deleteObject, listObjects } from '../resources.ts';
import { loggedIn } from '../session.ts';

const kinds: ProviderSpec['kind'][] = ['oidc', 'okta', 'google', 'azure'];
const clientSecretEnv = 'INFRA_PROVIDER_CLIENT_SECRET';

interface AddOptions {
  kind: ProviderSpec['kind'];
  issuer: string;
  clientId: string;
  clientSecretStdin?: boolean;
  scopes?: string[];
  groupsClaim?: string;
}

export function registerProviders(program: Command, io: Io): void {
  const providers = program
    .command('providers')
    .description('list, add and remove identity providers (Infra admins; view admins may list)')
    .addHelpText(
      'after',
      '\nExamples:\n  $ infra providers list\n  $ echo "$SECRET" | infra providers add okta --kind okta --issuer https://acme.okta.com --client-id 0oapn0qw --client-secret-stdin',
    );
  providers
    .command('list')
    .alias('ls')
    .description('list identity providers and whether they are ready')
    .addOption(outputOption())
    .addHelpText('after', '\nExamples:\n  $ infra providers list')
    .action((options: { output: Format }) => listProviders(io, options.output));
  providers
    .command('add')
    .description(`add an identity provider; its client secret goes to a Secret in the hub (from standard input, or $${clientSecretEnv})`)
    .argument('<name>', 'a short lowercase name people pick at login, e.g. okta')
    .requiredOption('--kind <kind>', `one of ${kinds.join(', ')}`)
    .requiredOption('--issuer <url>', "the IdP's OIDC issuer URL, e.g. https://acme.okta.com")
    .requiredOption('--client-id <id>', 'the client (application) ID registered at the IdP')
    .option('--client-secret-stdin', 'read the client secret from standard input')
    .option('--scopes <scope...>', 'scopes to request besides openid (default: email profile groups offline_access)')
    .option('--groups-claim <claim>', 'the ID token claim that lists groups (default: groups)')
    .addHelpText(
      'after',
      `
Examples:
  $ echo "$SECRET" | infra providers add okta --kind okta --issuer https://acme.okta.com --client-id 0oapn0qw --client-secret-stdin
  $ ${clientSecretEnv}=… infra providers add dex --kind oidc --issuer https://dex.example.com --client-id infra`,
    )
    .action((name: string, options: AddOptions) => addProvider(io, name, options));
  providers
    .command('remove')
    .alias('rm')
    .description('delete an identity provider: sessions of its users are revoked')
    .argument('<name>', 'the provider')
    .addHelpText('after', '\nExamples:\n  $ infra providers remove okta')
    .action((name: string) => removeProvider(io, name));
}

export async function listProviders(io: Io, format: Format): Promise<void> {
  const { client } = loggedIn(io);
  const providers = await listObjects<Provider>(client, 'Provider');
  if (format !== 'table') return io.out(render(providers, format));
  if (providers.length === 0) return io.out('No identity providers: add one with `infra providers add`. Built-in users log in with a password.');
  io.out(
    table(
      [`NAME (${providers.length})`, 'KIND', 'ISSUER', 'READY'],
      providers.map((p) => {
        const ready = findCondition(p.status?.conditions, 'Ready');
        return [p.metadata.name!, p.spec.kind, p.spec.issuer, ready ? (ready.status === 'True' ? 'yes' : `no: ${ready.message}`) : 'unknown'];
      }),
    ),
  );
}

export async function addProvider(io: Io, name: string, options: AddOptions): Promise<void> {
  if (!kinds.includes(options.kind)) throw new CliError(`--kind ${options.kind} is not one of ${kinds.join(', ')}`);
  const clientSecret = options.clientSecretStdin ? (await io.readStdin()).trim() : io.env[clientSecretEnv];
  if (!clientSecret) throw new CliError(`give the client secret on standard input with --client-secret-stdin, or in $${clientSecretEnv}`);
  const { client } = loggedIn(io);
  const spec = {
    kind: options.kind,
    issuer: options.issuer,
    clientID: options.clientId,
    ...(options.scopes ? { scopes: options.scopes } : {}),
    ...(options.groupsClaim ? { groupsClaim: options.groupsClaim } : {}),
  };
  await createObject<Provider>(client, 'Provider', { metadata: { name }, spec, clientSecret });
  io.out(`Provider ${name} added; \`infra providers list\` shows when it is ready`);
}

export async function removeProvider(io: Io, name: string): Promise<void> {
  const { client } = loggedIn(io);
  await deleteObject(client, 'Provider', name);
  io.out(`Provider ${name} removed`);
}
