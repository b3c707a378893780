// infra use DEST[.NS]: switch kubectl's current context to an Infra destination.
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { CliError, UnreachableError } from '../errors.ts';
import type { Io } from '../io.ts';
import { contextNames, editKubeconfig, prefix } from '../kubeconfig.ts';
import { kubeconfigPath } from '../paths.ts';
import { loggedIn, refreshKubeconfig } from '../session.ts';

export function registerUse(program: Command, io: Io): void {
  program
    .command('use')
    .description("switch kubectl's current context to a destination or one of its namespaces")
    .argument('<destination>', 'DEST or DEST.NAMESPACE, as `infra list` shows them')
    .addHelpText(
      'after',
      `
Examples:
  $ infra use production          # context infra:production
  $ infra use production.web      # context infra:production.web (namespace web)
  $ kubectl get pods`,
    )
    .action((destination: string) => use(io, destination));
}

export async function use(io: Io, target: string): Promise<void> {
  const name = target.startsWith(prefix) ? target : `${prefix}${target}`;
  // Pick up Grants made since login; an unreachable server leaves the contexts as they are.
  try {
    await refreshKubeconfig(io, loggedIn(io).client);
  } catch (err) {
    if (!(err instanceof UnreachableError) && !(err instanceof CliError && /not logged in/.test(err.message))) throw err;
  }
  const path = resolve(kubeconfigPath(io.env));
  editKubeconfig(path, (doc) => {
    const known = contextNames(doc).filter((n) => n.startsWith(prefix));
    if (!known.includes(name)) {
      const valid = known.map((n) => n.slice(prefix.length));
      throw new CliError(
        valid.length > 0
          ? `unknown destination "${target}": use one of ${valid.join(', ')}`
          : `unknown destination "${target}": you have no destinations in ${path}; run \`infra login\`, then \`infra list\``,
      );
    }
    doc.set('current-context', name);
  });
  io.out(`Switched to context "${name}".`);
}
