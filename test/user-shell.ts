// A user's shell for the e2e suites: a home of their own (INFRA_HOME, KUBECONFIG) in which
// the bundled `infra` CLI and the real kubectl run as processes, as they would on a laptop.
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { programBundle } from '../hack/build.ts';
import { runCommand, type CommandResult } from '../hack/local-infra/command.ts';

/** The environment that makes a home (a type, not an interface, so it is a valid environment). */
export type UserHome = {
  INFRA_HOME: string;
  KUBECONFIG: string;
};

/** A fresh home under `parent`: the CLI's state and a kubeconfig of its own, neither there yet. */
export async function newUserHome(parent: string): Promise<UserHome> {
  const root = await mkdtemp(join(parent, 'home-'));
  return { INFRA_HOME: join(root, 'infra'), KUBECONFIG: join(root, 'kube', 'config') };
}

/** A user's command gives up after a minute: a CLI waiting on a prompt fails the test instead of hanging it. */
const userCommandTimeoutMs = 60_000;

/** `node dist/cli/main.js …`: the bundled CLI, as a user runs `infra …` after `npm install`. */
export function infraCLI(args: string[], env: UserHome & NodeJS.ProcessEnv, input = ''): Promise<CommandResult> {
  return runCommand(process.execPath, [programBundle('cli'), ...args], { env, input, timeoutMs: userCommandTimeoutMs });
}

/** The real kubectl with the home's KUBECONFIG: the current context the CLI chose. */
export function userKubectl(args: string[], env: UserHome & NodeJS.ProcessEnv): Promise<CommandResult> {
  return runCommand('kubectl', args, { env, timeoutMs: userCommandTimeoutMs });
}
