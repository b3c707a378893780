// infra logout [--all]: end the session on the server and remove what login wrote.
import { resolve } from 'node:path';
import { existsSync, rmSync } from 'node:fs';
import type { Command } from 'commander';
import { loadConfig, saveConfig } from '../config.ts';
import { removeDestinationNames } from '../destination-cache.ts';
import { ApiStatusError, describeError } from '../errors.ts';
import type { Io } from '../io.ts';
import { editKubeconfig, removeInfra } from '../kubeconfig.ts';
import { kubeconfigPath, tokensDir } from '../paths.ts';

export function registerLogout(program: Command, io: Io): void {
  program
    .command('logout')
    .description('end your session on the server, and remove the infra:* kubeconfig contexts and cached tokens')
    .option('--all', 'end every session of yours, on every device')
    .addHelpText(
      'after',
      `
Examples:
  $ infra logout
  $ infra logout --all`,
    )
    .action((options: { all?: boolean }) => logout(io, options.all ?? false));
}

export async function logout(io: Io, all: boolean): Promise<void> {
  const config = loadConfig(io.env);
  const server = config.current;
  const entry = server ? config.servers[server] : undefined;
  let failed: string | undefined;
  if (server && entry?.session) {
    try {
      const { revoked } = await io.client({ server, trust: entry.trust, bearer: entry.session.key }).create('Logout', all ? { all: true } : {});
      if (all) io.out(`Ended ${revoked} session(s).`);
    } catch (err) {
      // 401: the session had already ended. Anything else: say so, but still clean up here.
      if (!(err instanceof ApiStatusError && err.code === 401))
        io.err(`warning: the server did not end the session (${describeError(err)}); it expires at ${entry.session.expiresAt}`);
    }
    delete entry.session;
    saveConfig(config, io.env);
  }
  rmSync(tokensDir(io.env), { recursive: true, force: true });
  removeDestinationNames(io.env);
  const path = resolve(kubeconfigPath(io.env));
  try {
    if (existsSync(path)) editKubeconfig(path, removeInfra);
  } catch (err) {
    failed = describeError(err);
  }
  io.out(server && entry ? `Logged out of ${server}.` : 'Not logged in; removed the local Infra files.');
  if (failed) throw new Error(`the infra:* contexts were not removed: ${failed}`);
}
