// `infra tokens --destination D`: the kubectl exec credential plugin. kubectl runs it for
// every command, so a warm cache must cost one process start and two small file reads:
// this module imports node built-ins and the CLI's light modules only, and loads the
// HTTPS client (and zod, through the API types) only when it must ask the server.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { dnsLabel } from '../api/grants.ts';
import type { AuthClient, ClientOptions } from './api.ts';
import { currentSession, loadConfig } from './config.ts';
import { CliError, describeError } from './errors.ts';
import { writeFileAtomic } from './files.ts';
import { tokensDir } from './paths.ts';

/** A cached token is used until this long before it expires. */
export const refreshBeforeMs = 60_000;

export interface CachedToken {
  server: string;
  destination: string;
  token: string;
  expirationTimestamp: string;
}

export interface ExecCredential {
  apiVersion: 'client.authentication.k8s.io/v1';
  kind: 'ExecCredential';
  status: { token: string; expirationTimestamp: string };
}

export interface TokenDeps {
  env?: NodeJS.ProcessEnv;
  now?: () => number;
  /** The HTTPS client; loaded lazily when absent. */
  client?: (options: ClientOptions) => AuthClient;
}

export function tokenCachePath(destination: string, env: NodeJS.ProcessEnv = process.env): string {
  return join(tokensDir(env), `${destination}.json`);
}

function readCache(path: string): CachedToken | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as CachedToken;
  } catch {
    return undefined; // absent or damaged: fetch a new one
  }
}

/** The token for a destination: from the cache while it has more than a minute left, else from the server. */
export async function credentialFor(destination: string, deps: TokenDeps = {}): Promise<ExecCredential> {
  const env = deps.env ?? process.env;
  const now = deps.now ?? Date.now;
  if (!dnsLabel.test(destination)) throw new CliError(`"${destination}" is not a destination name (a DNS label, e.g. production): run \`infra list\``);
  const config = loadConfig(env);
  const path = tokenCachePath(destination, env);
  const cached = readCache(path);
  if (cached && cached.server === config.current && cached.destination === destination && Date.parse(cached.expirationTimestamp) - refreshBeforeMs > now()) {
    return execCredential(cached.token, cached.expirationTimestamp);
  }
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

function execCredential(token: string, expirationTimestamp: string): ExecCredential {
  return { apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: { token, expirationTimestamp } };
}

/** Parses `--destination D` / `--destination=D` / `-d D`; the full parser is not loaded for kubectl's calls. */
export function parseTokensArgs(args: string[]): string {
  let destination: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--destination' || arg === '-d') destination = args[++i];
    else if (arg.startsWith('--destination=')) destination = arg.slice('--destination='.length);
    else throw new CliError(`infra tokens: unknown argument ${arg}; usage: infra tokens --destination DEST`);
  }
  if (!destination) throw new CliError('infra tokens: --destination DEST is required (kubectl runs this command; see `infra use`)');
  return destination;
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
