// Where the CLI keeps its files. Imported on the `infra tokens` fast path: node built-ins only.
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';

/** ~/.infra, or $INFRA_HOME (tests and multiple identities side by side). */
export function infraHome(env: NodeJS.ProcessEnv = process.env): string {
  return env['INFRA_HOME'] || join(homedir(), '.infra');
}

export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(infraHome(env), 'config.json');
}

export function tokensDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(infraHome(env), 'tokens');
}

/** The destination names shell completion offers for `infra use` (cli/destination-cache.ts). */
export function destinationCachePath(env: NodeJS.ProcessEnv = process.env): string {
  return join(infraHome(env), 'destinations');
}

/** The kubeconfig the CLI writes: the first path of $KUBECONFIG, else ~/.kube/config (as kubectl). */
export function kubeconfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const first = (env['KUBECONFIG'] ?? '').split(delimiter).find((p) => p !== '');
  return first ?? join(homedir(), '.kube', 'config');
}
