// `infra tokens --destination D`: the kubectl exec credential plugin. A usable cached
// token is printed by cli/main.ts's warm path (cli/cached-token.ts) before this module is
// loaded; this is the rest: the cache miss, which asks the server, and every error. It
// loads the HTTPS client (and zod, through the API types) only when it must ask.
import { rmSync } from 'node:fs';
import { dnsLabel } from '../api/grants.ts';
import type { AuthClient, ClientOptions } from './api.ts';
import { execCredential, isUsable, readCachedToken, tokenCachePath, tokensArguments, type CachedToken, type ExecCredential } from './cached-token.ts';
import { currentSession, loadConfig } from './config.ts';
import { CliError, describeError } from './errors.ts';
import { writeFileAtomic } from './files.ts';

export { tokenCachePath } from './cached-token.ts';

export interface TokenDeps {
  env?: NodeJS.ProcessEnv;
  now?: () => number;
  /** The HTTPS client; loaded lazily when absent. */
  client?: (options: ClientOptions) => AuthClient;
}

/** The token for a destination: from the cache while it has more than a minute left, else from the server. */
export async function credentialFor(destination: string, deps: TokenDeps = {}): Promise<ExecCredential> {
  const env = deps.env ?? process.env;
  const now = deps.now ?? Date.now;
  if (!dnsLabel.test(destination)) throw new CliError(`"${destination}" is not a destination name (a DNS label, e.g. production): run \`infra list\``);
  const config = loadConfig(env);
  const path = tokenCachePath(destination, env);
  const cached = readCachedToken(path);
  if (cached && isUsable(cached, config.current, destination, now())) return execCredential(cached.token, cached.expirationTimestamp);
  const { server, trust, session } = currentSession(config);
  const client = deps.client ?? (await import('./api.ts')).authClient;
  let status;
  try {
    status = await client({ server, trust, bearer: session.key }).create('TokenRequest', { destination });
  } catch (err) {
    rmSync(path, { force: true });
    throw err;
  }
  writeFileAtomic(
    path,
    `${JSON.stringify({ server, destination, token: status.token, expirationTimestamp: status.expirationTimestamp } satisfies CachedToken)}\n`,
  );
  return execCredential(status.token, status.expirationTimestamp);
}

/** Parses `--destination D` / `--destination=D` / `-d D`; the full parser is not loaded for kubectl's calls. */
export function parseTokensArgs(args: string[]): string {
  const parsed = tokensArguments(args);
  if ('problem' in parsed) throw new CliError(parsed.problem);
  return parsed.destination;
}

/** The whole `infra tokens` command: prints the ExecCredential JSON; returns the exit code. */
export async function tokensMain(args: string[]): Promise<number> {
  try {
    const credential = await credentialFor(parseTokensArgs(args));
    process.stdout.write(`${JSON.stringify(credential)}\n`);
    return 0;
  } catch (err) {
    process.stderr.write(`infra: ${describeError(err)}\n`);
    return 1;
  }
}
