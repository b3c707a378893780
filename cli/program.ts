// The `infra` command tree (commander). `infra tokens` has a fast path in main.ts; it is
// registered here too, for --help and completion.
import { Command } from 'commander';
import { version } from '../lib/version.ts';
import { registerCompletion } from './commands/completion.ts';
import { registerDestinations } from './commands/destinations.ts';
import { registerGrants } from './commands/grants.ts';
import { registerGroups } from './commands/groups.ts';
import { registerInfo } from './commands/info.ts';
import { registerKeys } from './commands/keys.ts';
import { registerList } from './commands/list.ts';
import { registerLogin } from './commands/login.ts';
import { registerLogout } from './commands/logout.ts';
import { registerPassword } from './commands/password.ts';
import { registerProviders } from './commands/providers.ts';
import { registerRequests } from './commands/requests.ts';
import { registerUse } from './commands/use.ts';
import { registerUsers } from './commands/users.ts';
import type { Io } from './io.ts';
import { credentialFor } from './tokens.ts';

export function buildProgram(io: Io): Command {
  const program = new Command('infra')
    .description('Infra: log in once, then kubectl just works on every cluster and namespace you have a Grant for.')
    .version(version, '-v, --version', 'print the version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.replace(/\n$/, '')), writeErr: (s) => io.err(s.replace(/\n$/, '')) })
    .addHelpText(
      'after',
      `
Examples:
  $ infra login https://infra.example.com
  $ infra list
  $ infra use production.web
  $ kubectl get pods

Files: ~/.infra/config.json (server, session; $INFRA_HOME moves ~/.infra), ~/.infra/tokens/,
and the infra:* entries of your kubeconfig ($KUBECONFIG, first path, else ~/.kube/config).`,
    );
  registerLogin(program, io);
  registerList(program, io);
  registerUse(program, io);
  registerLogout(program, io);
  registerPassword(program, io);
  registerInfo(program, io);
  registerKeys(program, io);
  registerRequests(program, io);
  registerGrants(program, io);
  registerUsers(program, io);
  registerGroups(program, io);
  registerDestinations(program, io);
  registerProviders(program, io);
  program
    .command('tokens')
    .description('print a Kubernetes ExecCredential for a destination (kubectl runs this; tokens are cached until a minute before they expire)')
    .requiredOption('-d, --destination <dest>', 'the destination')
    .addHelpText(
      'after',
      `
Examples:
  $ infra tokens --destination production | jq -r .status.expirationTimestamp`,
    )
    .action(async (options: { destination: string }) => io.out(JSON.stringify(await credentialFor(options.destination, { env: io.env, client: io.client }))));
  program
    .command('version')
    .description('print the version of this CLI')
    .addHelpText('after', '\nExamples:\n  $ infra version')
    .action(() => io.out(`infra ${version}`));
  registerCompletion(program, io);
  return program;
}
