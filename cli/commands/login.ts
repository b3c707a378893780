// infra login [SERVER]: trust the server, log in (password or access key), keep the
// session, write the kubeconfig contexts.
import { readFileSync, rmSync } from 'node:fs';
import type { Command } from 'commander';
import type { LoginSpec } from '../../api/auth/v1alpha1/types.ts';
import { formatFingerprint, validFingerprint } from '../api.ts';
import { loadConfig, normalizeServer, saveConfig, type ServerTrust } from '../config.ts';
import { ApiStatusError, CliError, UntrustedCertificateError } from '../errors.ts';
import type { Io } from '../io.ts';
import { tokensDir } from '../paths.ts';
import { writeContexts } from '../session.ts';

interface LoginOptions {
  user?: string;
  passwordStdin?: boolean;
  key?: string;
  caFile?: string;
  trustFingerprint?: string;
}

export function registerLogin(program: Command, io: Io): void {
  program
    .command('login')
    .description('log in to an Infra server and write kubeconfig contexts for every destination you can reach')
    .argument('[server]', 'the server, e.g. https://infra.example.com (default: the last one)')
    .option('--user <email>', 'log in with this email and a password')
    .option('--password-stdin', 'read the password from standard input (for scripts)')
    .option('--key <key>', 'log in with an access key (or set INFRA_ACCESS_KEY)')
    .option('--ca-file <pem>', "trust the server's certificate through this CA certificate (PEM)")
    .option('--trust-fingerprint <sha256>', "trust the server's certificate with this SHA-256 fingerprint")
    .addHelpText(
      'after',
      `
Examples:
  $ infra login https://infra.example.com                      # prompts for email and password
  $ echo "$PASSWORD" | infra login infra.example.com --user carl@example.com --password-stdin
  $ INFRA_ACCESS_KEY=iak_… infra login https://infra.example.com
  $ infra login https://127.0.0.1:8443 --ca-file operator-ca.crt`,
    )
    .action((server: string | undefined, options: LoginOptions) => login(io, server, options));
}

export async function login(io: Io, serverArg: string | undefined, options: LoginOptions): Promise<void> {
  const config = loadConfig(io.env);
  let input = serverArg ?? config.current;
  if (!input) {
    if (!io.interactive) throw new CliError('name the server to log in to: infra login https://infra.example.com');
    input = await io.prompt.input('Server (e.g. https://infra.example.com):');
  }
  const server = normalizeServer(input);

  let trust: ServerTrust = { ...config.servers[server]?.trust };
  if (options.caFile !== undefined || options.trustFingerprint !== undefined) trust = {};
  if (options.caFile !== undefined) {
    let pem: string;
    try {
      pem = readFileSync(options.caFile, 'utf8');
    } catch (err) {
      throw new CliError(`--ca-file ${options.caFile}: ${(err as Error).message}`);
    }
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new CliError(`--ca-file ${options.caFile} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
    trust.ca = pem;
  }
  if (options.trustFingerprint !== undefined) {
    if (!validFingerprint(options.trustFingerprint)) throw new CliError(`--trust-fingerprint must be a SHA-256 fingerprint, 64 hex digits like AB:CD:…, got "${options.trustFingerprint}"`);
    trust.fingerprint = formatFingerprint(options.trustFingerprint);
  }

  const accessKey = options.key ?? (options.user === undefined && !options.passwordStdin ? io.env['INFRA_ACCESS_KEY'] : undefined);
  if (options.key !== undefined && (options.user !== undefined || options.passwordStdin)) throw new CliError('log in with either --key or --user/--password-stdin, not both');

  // Trust first: no email, password or key goes to a server the user has not trusted.
  trust = await checkTrust(io, server, trust, !options.passwordStdin);

  let spec: LoginSpec;
  if (accessKey) spec = { accessKey };
  else {
    const email = options.user ?? (io.interactive && !options.passwordStdin ? await io.prompt.input('Email:') : undefined);
    if (!email) throw new CliError('no credentials: pass --user EMAIL with --password-stdin, or --key KEY (or INFRA_ACCESS_KEY), or run infra login on a terminal');
    let password: string | undefined;
    if (options.passwordStdin) password = (await io.readStdin()).replace(/\r?\n$/, '');
    else if (io.interactive) password = await io.prompt.password('Password:');
    else throw new CliError('no password: pipe it in with --password-stdin, or run infra login on a terminal');
    if (!password) throw new CliError(options.passwordStdin ? 'the password read from standard input is empty' : 'the password is empty');
    spec = { email: email.trim(), password };
  }

  const client = io.client({ server, trust });
  let status;
  try {
    status = await client.create('Login', spec);
  } catch (err) {
    if (err instanceof ApiStatusError && err.code === 401) {
      throw new CliError(accessKey ? `login failed: the access key is wrong, expired or revoked on ${server}` : `login failed: wrong email or password for ${server}`);
    }
    throw err;
  }

  config.current = server;
  config.servers[server] = { trust, session: { key: status.sessionKey, expiresAt: status.expirationTimestamp, user: status.user } };
  saveConfig(config, io.env);
  rmSync(tokensDir(io.env), { recursive: true, force: true }); // tokens of an earlier session or user
  io.out(`Logged in to ${server} as ${status.user.email}`);
  if (status.passwordChangeRequired) io.err('Your password is a one-time password: set a new one soon.');

  const review = await io.client({ server, trust, bearer: status.sessionKey }).create('AccessReview', {});
  const { contexts, kubeconfig } = writeContexts(io, review);
  if (contexts.length === 0) {
    io.out(`You have no access to any destination yet: ask an Infra admin for a Grant. (kubeconfig: ${kubeconfig})`);
  } else {
    io.out(`Updated ${kubeconfig}: ${contexts.map((c) => c.name).join(', ')}`);
    io.out(`Switch with: infra use ${contexts[0]!.name.slice('infra:'.length)}`);
  }
}

/** The trust to use: as given if the server passes it; after a yes on a terminal, its fingerprint. */
async function checkTrust(io: Io, server: string, trust: ServerTrust, mayAsk: boolean): Promise<ServerTrust> {
  try {
    await io.checkServer(server, trust);
    return trust;
  } catch (err) {
    if (!(err instanceof UntrustedCertificateError) || !io.interactive || !mayAsk) throw err;
    io.err(`The certificate of ${server} is not trusted (${err.reason}).`);
    io.err(`Its SHA-256 fingerprint is ${err.fingerprint}`);
    io.err('Compare it with the one your administrator published before you answer.');
    if (!(await io.prompt.confirm('Trust this certificate?'))) throw new CliError(`login cancelled: ${server} was not trusted (see --ca-file and --trust-fingerprint)`);
    return { fingerprint: err.fingerprint };
  }
}
