// The token cache of `infra tokens` and the warm path that serves it. kubectl runs
// `infra tokens` before every request, so a fresh cached token must cost no more than
// starting Node: this module is all the program's entry loads on that path, and it
// imports only Node's fs, path and os (no crypto, no stream, no module of ours with
// classes: the executable holds a second copy of this one, ADR 25). It never
// reports a problem itself: on anything unusual the warm path answers "no", and the full
// program (cli/tokens.ts) does the same work again and says what is wrong.
import { readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { dnsLabel } from '../api/grants.ts';
import { configPath, tokensDir } from './paths.ts';

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

export function tokenCachePath(destination: string, env: NodeJS.ProcessEnv = process.env): string {
  return join(tokensDir(env), `${destination}.json`);
}

/** The cached token, or undefined when the file is absent or damaged (a new one is fetched). */
export function readCachedToken(path: string): CachedToken | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as CachedToken;
  } catch {
    return undefined;
  }
}

/** Whether a cached token may be used: for this server and destination, with more than a minute left. */
export function isUsable(cached: CachedToken, server: string | undefined, destination: string, now: number): boolean {
  return cached.server === server && cached.destination === destination && Date.parse(cached.expirationTimestamp) - refreshBeforeMs > now;
}

export function execCredential(token: string, expirationTimestamp: string): ExecCredential {
  return { apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: { token, expirationTimestamp } };
}

/** `--destination D` / `--destination=D` / `-d D`: the destination, or what is wrong with the arguments. */
export function tokensArguments(args: string[]): { destination: string } | { problem: string } {
  let destination: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--destination' || arg === '-d') destination = args[++i];
    else if (arg.startsWith('--destination=')) destination = arg.slice('--destination='.length);
    else return { problem: `infra tokens: unknown argument ${arg}; usage: infra tokens --destination DEST` };
  }
  if (!destination) return { problem: 'infra tokens: --destination DEST is required (kubectl runs this command; see `infra use`)' };
  return { destination };
}

/** The server config.json names as current; undefined when there is none or the file is unreadable. */
function currentServer(env: NodeJS.ProcessEnv): string | undefined {
  try {
    const current: unknown = (JSON.parse(readFileSync(configPath(env), 'utf8')) as { current?: unknown } | null)?.current;
    return typeof current === 'string' ? current : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The ExecCredential line `infra tokens ARGS` prints when its cached token is usable, else
 * undefined: the same rules as credentialFor (cli/tokens.ts), which handles every other case.
 */
export function warmCredentialLine(args: string[], env: NodeJS.ProcessEnv = process.env, now: number = Date.now()): string | undefined {
  const parsed = tokensArguments(args);
  if (!('destination' in parsed) || !dnsLabel.test(parsed.destination)) return undefined;
  const server = currentServer(env);
  const cached = server === undefined ? undefined : readCachedToken(tokenCachePath(parsed.destination, env));
  if (!cached || !isUsable(cached, server, parsed.destination, now)) return undefined;
  return `${JSON.stringify(execCredential(cached.token, cached.expirationTimestamp))}\n`;
}

/** A reader that stops early (`infra … | head`, `| grep -q`) closes the pipe: end quietly, as a process killed by SIGPIPE would (128 + 13). */
export function exitOnClosedPipe(err: NodeJS.ErrnoException): void {
  if (err.code !== 'EPIPE') throw err;
  process.exit(141);
}

/**
 * Writes to fd 1 directly: process.stdout would build a stream (and load its modules) for
 * one line. A pipe left non-blocking by whoever started us may take part of it; the
 * stream then writes the rest.
 */
export function writeStdoutLine(line: string): void {
  const bytes = Buffer.from(line);
  let written = 0;
  try {
    while (written < bytes.length) written += writeSync(1, bytes, written);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') return exitOnClosedPipe(err as NodeJS.ErrnoException);
    process.stdout.on('error', exitOnClosedPipe).write(bytes.subarray(written));
  }
}
