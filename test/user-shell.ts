// A user's shell for the e2e suites: a home of their own (INFRA_HOME, KUBECONFIG) in which
// the bundled `infra` CLI and the real kubectl run as processes, as they would on a laptop.
import { execFile } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { programBundle } from '../hack/build.ts';

/** The environment that makes a home (a type, not an interface, so it is a valid environment). */
export type UserHome = {
  INFRA_HOME: string;
  KUBECONFIG: string;
};

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A fresh home under `parent`: the CLI's state and a kubeconfig of its own, neither there yet. */
export async function newUserHome(parent: string): Promise<UserHome> {
  const root = await mkdtemp(join(parent, 'home-'));
  return { INFRA_HOME: join(root, 'infra'), KUBECONFIG: join(root, 'kube', 'config') };
}

/** Runs a command with `env` added to this process's environment; resolves with its exit code and output, never rejects. */
export function runCommand(command: string, args: string[], env: NodeJS.ProcessEnv, input = ''): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = execFile(command, args, { env: { ...process.env, ...env }, maxBuffer: 16 << 20, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
    child.stdin!.end(input);
  });
}

/** `node dist/cli/main.js …`: the bundled CLI, as a user runs `infra …` after `npm install`. */
export function infraCLI(args: string[], env: UserHome & NodeJS.ProcessEnv, input = ''): Promise<CommandResult> {
  return runCommand(process.execPath, [programBundle('cli'), ...args], env, input);
}

/** The real kubectl with the home's KUBECONFIG: the current context the CLI chose. */
export function userKubectl(args: string[], env: UserHome & NodeJS.ProcessEnv): Promise<CommandResult> {
  return runCommand('kubectl', args, env);
}
