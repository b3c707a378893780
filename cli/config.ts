// ~/.infra/config.json (or $INFRA_HOME/config.json): the servers the CLI knows, how it
// trusts each, and the current session. Mode 0600 in a 0700 directory: it holds the
// session key. Node built-ins only (the `infra tokens` path imports it).
import { readFileSync } from 'node:fs';
import { CliError } from './errors.ts';
import { writeFileAtomic } from './files.ts';
import { configPath } from './paths.ts';

export interface ServerTrust {
  /** PEM of the CA that signs the server's certificate (--ca-file). */
  ca?: string;
  /** SHA-256 of the server's certificate, AA:BB:… (--trust-fingerprint or the TTY prompt). */
  fingerprint?: string;
}

export interface Session {
  key: string;
  expiresAt: string;
  user: { email: string; groups: string[] };
}

export interface ServerEntry {
  trust: ServerTrust;
  session?: Session;
}

export interface Config {
  /** The server `infra` talks to: the last one logged in to. */
  current?: string;
  servers: Record<string, ServerEntry>;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const path = configPath(env);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { servers: {} };
    throw err;
  }
  try {
    const parsed = JSON.parse(text) as Partial<Config>;
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
    return { ...parsed, servers: parsed.servers ?? {} };
  } catch (err) {
    throw new CliError(`${path} is not valid (${(err as Error).message}): delete it and run \`infra login\` again`);
  }
}

export function saveConfig(config: Config, env: NodeJS.ProcessEnv = process.env): void {
  writeFileAtomic(configPath(env), `${JSON.stringify(config, null, 2)}\n`);
}

export interface CurrentSession {
  server: string;
  trust: ServerTrust;
  session: Session;
}

/** The server and session commands use; a CliError that says what to do without one. */
export function currentSession(config: Config): CurrentSession {
  const server = config.current;
  const entry = server ? config.servers[server] : undefined;
  if (!server || !entry?.session) throw new CliError('not logged in: run `infra login SERVER` first');
  if (Date.parse(entry.session.expiresAt) <= Date.now()) throw new CliError('your session has expired: run `infra login`');
  return { server, trust: entry.trust, session: entry.session };
}

/** https://host[:port] without a trailing slash; `https://` is added when absent. */
export function normalizeServer(input: string): string {
  let text = input.trim();
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) text = `https://${text}`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new CliError(`"${input}" is not a server address: use one like https://infra.example.com`);
  }
  if (url.protocol !== 'https:') throw new CliError(`"${input}": Infra servers are reached over https://, e.g. https://${url.host}`);
  return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`;
}
