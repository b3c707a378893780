// infra login [SERVER]: pick the server, trust it, log in (identity provider, password or
// access key), keep the session, replace a one-time password, write the kubeconfig contexts.
import { readFileSync, rmSync } from 'node:fs';
import type { Command } from 'commander';
import type { LoginStatus } from '../../api/auth/v1alpha1/types.ts';
import type { InfraClient } from '../api.ts';
import { formatFingerprint, validFingerprint } from '../pinning.ts';
import { loadConfig, normalizeServer, saveConfig, type Config, type ServerTrust } from '../config.ts';
import { ApiStatusError, CliError, UntrustedCertificateError } from '../errors.ts';
import type { Io } from '../io.ts';
import { tokensDir } from '../paths.ts';
import { chooseProvider, loginProviders, loginThroughProvider } from '../provider-login.ts';
import { writeContexts } from '../session.ts';
import { changePassword, newPasswordPrompted } from './password.ts';

interface LoginOptions {
  user?: string;
  passwordStdin?: boolean;
  key?: string;
  keyStdin?: boolean;
  provider?: string;
  /** False with --no-browser. */
  browser: boolean;
  device?: boolean;
  caFile?: string;
  trustFingerprint?: string;
}

/** The built-in ways in the login menu on a terminal: '/' is in no Provider's name. */
export const passwordChoice = '/password';
export const accessKeyChoice = '/access-key';

/** "Select a server": the choice that asks for an address not known yet. */
export const newServerChoice = '/new-server';

export function registerLogin(program: Command, io: Io): void {
  program
    .command('login')
    .description('log in to an Infra server and write kubeconfig contexts for every destination you can reach')
    .argument('[server]', 'the server, e.g. https://infra.example.com (default: the only one known; on a terminal, a choice of the known ones)')
    .option('--user <email>', 'log in with this email and a password')
    .option('--password-stdin', 'read the password from standard input (for scripts)')
    .option('--key-stdin', 'log in with an access key read from standard input (or set INFRA_ACCESS_KEY)')
    .option('--key <key>', 'log in with this access key; other users of the machine can read it in the process list, so prefer --key-stdin or INFRA_ACCESS_KEY')
    .option('--provider <name>', 'log in through this identity provider (infra login lists them on a terminal)')
    .option('--no-browser', 'do not open a browser: print the address to open, and take the address the browser ended at when pasted')
    .option('--device', "log in with the provider's device flow: a code to enter on any device")
    .option('--ca-file <pem>', "trust the server's certificate through this CA certificate (PEM)")
    .option('--trust-fingerprint <sha256>', "trust the server whose CA's public key has this SHA-256 fingerprint")
    .addHelpText(
      'after',
      `
Examples:
  $ infra login                                                # on a terminal: pick a known server (or type a new one), then how to log in
  $ infra login https://infra.example.com                      # asks how to log in: a provider, email and password, or an access key
  $ infra login https://infra.example.com --provider okta      # opens the browser ($BROWSER when set)
  $ infra login https://infra.example.com --provider okta --no-browser   # over SSH: open the address elsewhere, paste where it ended
  $ infra login https://infra.example.com --provider okta --device
  $ echo "$PASSWORD" | infra login infra.example.com --user carl@example.com --password-stdin
  $ printf '%s\n%s\n' "$ONE_TIME" "$NEW" | infra login infra.example.com --user carl@example.com --password-stdin
  $ INFRA_ACCESS_KEY=iak_… infra login https://infra.example.com
  $ infra login https://infra.example.com --key-stdin < ci-deploy.key
  $ infra login https://127.0.0.1:8443 --ca-file operator-ca.crt`,
    )
    .action((server: string | undefined, options: LoginOptions) => login(io, server, options));
}

export async function login(io: Io, serverArg: string | undefined, options: LoginOptions): Promise<void> {
  const config = loadConfig(io.env);
  const server = normalizeServer(serverArg ?? (await chooseServer(io, config)));

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
    if (!validFingerprint(options.trustFingerprint))
      throw new CliError(`--trust-fingerprint must be a SHA-256 fingerprint, 64 hex digits like AB:CD:…, got "${options.trustFingerprint}"`);
    trust.fingerprint = formatFingerprint(options.trustFingerprint);
  }

  const methods = [
    options.key !== undefined || options.keyStdin === true,
    options.user !== undefined || options.passwordStdin === true,
    options.provider !== undefined,
  ].filter(Boolean).length;
  if (methods > 1) throw new CliError('log in with one of --key-stdin (or --key), --user/--password-stdin or --provider, not several');
  if (options.key !== undefined && options.keyStdin) throw new CliError('pass the access key once: --key-stdin or --key, not both');
  if (options.key !== undefined) io.err('warning: --key shows the access key to every user of this machine (ps); use --key-stdin or INFRA_ACCESS_KEY');
  const accessKey = options.keyStdin ? await keyFromStdin(io) : (options.key ?? (methods === 0 ? io.env['INFRA_ACCESS_KEY'] : undefined));
  if (options.device && options.provider === undefined) throw new CliError('--device needs --provider NAME');

  // Trust first: no email, password or key goes to a server the user has not trusted.
  trust = await checkTrust(io, server, trust, !options.passwordStdin && !options.keyStdin);
  const client = io.client({ server, trust });

  let status: LoginStatus;
  let password: Password | undefined;
  if (accessKey) status = await loginWithKey(client, server, accessKey);
  else if (options.provider !== undefined) status = await viaProvider(io, client, server, options.provider, options);
  else if (options.user !== undefined || options.passwordStdin) {
    password = await passwordFrom(io, options);
    status = await loginWithPassword(client, server, password);
  } else if (io.interactive) {
    const choice = await chooseLogin(io, client);
    if (choice === accessKeyChoice) status = await loginWithKey(client, server, await keyPrompted(io));
    else if (choice !== passwordChoice) status = await viaProvider(io, client, server, choice, options);
    else {
      password = await passwordFrom(io, options);
      status = await loginWithPassword(client, server, password);
    }
  } else {
    throw new CliError(
      'no credentials: pass --provider NAME to log in through an identity provider, --user EMAIL with --password-stdin, or --key-stdin (or INFRA_ACCESS_KEY), or run infra login on a terminal',
    );
  }

  config.current = server;
  config.servers[server] = { trust, session: { key: status.sessionKey, expiresAt: status.expirationTimestamp, user: status.user } };
  saveConfig(config, io.env);
  rmSync(tokensDir(io.env), { recursive: true, force: true }); // tokens of an earlier session or user
  io.out(`Logged in to ${server} as ${status.user.email}`);
  if (status.passwordChangeRequired) await replaceOneTimePassword(io, io.client({ server, trust, bearer: status.sessionKey }), password);

  const review = await io.client({ server, trust, bearer: status.sessionKey }).create('AccessReview', {});
  const { contexts, kubeconfig } = writeContexts(io, review);
  if (contexts.length === 0) {
    io.out(`You have no access to any destination yet: ask an Infra admin for a Grant. (kubeconfig: ${kubeconfig})`);
  } else {
    io.out(`Updated ${kubeconfig}: ${contexts.map((c) => c.name).join(', ')}`);
    io.out(`Switch with: infra use ${contexts[0]!.name.slice('infra:'.length)}`);
  }
}

interface Password {
  email: string;
  password: string;
  /** From the second line of standard input: the new password when the first is a one-time one. */
  newPassword?: string;
}

/**
 * Without SERVER: the only server known; on a terminal, a choice of the known ones (the
 * last one first under the cursor) or a new address. Without a terminal, a choice between
 * several is never guessed.
 */
async function chooseServer(io: Io, config: Config): Promise<string> {
  const known = Object.keys(config.servers);
  if (known.length === 1) return known[0]!;
  if (!io.interactive) {
    throw new CliError(
      known.length === 0
        ? 'name the server to log in to: infra login SERVER, e.g. infra login https://infra.example.com'
        : `name the server to log in to, one of ${known.join(', ')}: infra login SERVER (on a terminal, infra login offers them)`,
    );
  }
  const newServer = () => io.prompt.input('Server (e.g. https://infra.example.com):');
  if (known.length === 0) return newServer();
  const choices = known.map((server) => {
    const user = config.servers[server]?.session?.user.email;
    return { name: user ? `${server} (${user})` : server, value: server };
  });
  const choice = await io.prompt.select('Select a server:', [...choices, { name: 'another server…', value: newServerChoice }], config.current);
  return choice === newServerChoice ? newServer() : choice;
}

/** The access key typed on a terminal: never echoed, never in argv. */
async function keyPrompted(io: Io): Promise<string> {
  const key = (await io.prompt.secret('Access key:')).trim();
  if (!key) throw new CliError('the access key is empty: paste the key `infra keys add` printed, or pipe it in with --key-stdin');
  return key;
}

async function keyFromStdin(io: Io): Promise<string> {
  const key = (await io.readStdin()).trim();
  if (!key) throw new CliError('the access key read from standard input is empty');
  return key;
}

async function passwordFrom(io: Io, options: LoginOptions): Promise<Password> {
  const email = options.user ?? (io.interactive && !options.passwordStdin ? await io.prompt.input('Email:') : undefined);
  if (!email)
    throw new CliError('no credentials: pass --user EMAIL with --password-stdin, or --key-stdin (or INFRA_ACCESS_KEY), or run infra login on a terminal');
  let password: string | undefined;
  let newPassword: string | undefined;
  if (options.passwordStdin) [password, newPassword] = (await io.readStdin()).split(/\r?\n/);
  else if (io.interactive) password = await io.prompt.password('Password:');
  else throw new CliError('no password: pipe it in with --password-stdin, or run infra login on a terminal');
  if (!password) throw new CliError(options.passwordStdin ? 'the password read from standard input is empty' : 'the password is empty');
  return { email: email.trim(), password, ...(newPassword ? { newPassword } : {}) };
}

function loginWithKey(client: InfraClient, server: string, accessKey: string): Promise<LoginStatus> {
  return loginWith(client, server, 'access key', () => client.create('Login', { accessKey }));
}

function loginWithPassword(client: InfraClient, server: string, { email, password }: Password): Promise<LoginStatus> {
  return loginWith(client, server, 'password', () => client.create('Login', { email, password }));
}

/** A refused login as the line the person reads. */
async function loginWith(client: InfraClient, server: string, method: 'password' | 'access key', login: () => Promise<LoginStatus>): Promise<LoginStatus> {
  try {
    return await login();
  } catch (err) {
    if (err instanceof ApiStatusError && err.code === 401) {
      throw new CliError(
        method === 'access key'
          ? `login failed: the access key is wrong, expired or revoked on ${server}`
          : `login failed: wrong email or password for ${server}`,
      );
    }
    throw err;
  }
}

async function viaProvider(io: Io, client: InfraClient, server: string, name: string, options: LoginOptions): Promise<LoginStatus> {
  const provider = chooseProvider(await loginProviders(client), name, server);
  try {
    return await loginThroughProvider(io, client, provider, { browser: options.browser, device: options.device ?? false });
  } catch (err) {
    if (err instanceof ApiStatusError && err.code === 401) throw new CliError(err.message);
    throw err;
  }
}

/** On a terminal: which identity provider, email and password, or an access key. */
async function chooseLogin(io: Io, client: InfraClient): Promise<string> {
  const providers = (await loginProviders(client)).filter((p) => p.ready);
  return io.prompt.select('Log in with:', [
    ...providers.map((p) => ({ name: `${p.name} (${p.kind})`, value: p.name })),
    { name: 'email and password', value: passwordChoice },
    { name: 'an access key', value: accessKeyChoice },
  ]);
}

/** The server requires a new password: from stdin's second line, or asked twice on a terminal. */
async function replaceOneTimePassword(io: Io, client: InfraClient, password: Password | undefined): Promise<void> {
  const newPassword = password?.newPassword ?? (io.interactive ? await newPasswordPrompted(io) : undefined);
  if (!password || !newPassword) {
    throw new CliError(
      'your password is a one-time password: set your own with `infra password` (on a terminal), or log in again with the one-time password and a new one on two lines of standard input (--password-stdin)',
    );
  }
  await changePassword(io, client, password.password, newPassword);
}

/**
 * The trust to use: as given if the server passes it; with nothing trusted yet, after a
 * yes on a terminal, its CA key's fingerprint. A pinned key that does not match is never
 * asked about (PinMismatchError): a prompt would teach people to click through an attack.
 */
async function checkTrust(io: Io, server: string, trust: ServerTrust, mayAsk: boolean): Promise<ServerTrust> {
  try {
    await io.checkServer(server, trust);
    return trust;
  } catch (err) {
    if (!(err instanceof UntrustedCertificateError) || !io.interactive || !mayAsk) throw err;
    io.err(`The certificate of ${server} is not trusted (${err.reason}).`);
    io.err(`The SHA-256 fingerprint of its CA's public key is ${err.fingerprint}`);
    io.err('Compare it with the one your administrator published before you answer.');
    if (!(await io.prompt.confirm('Trust this certificate?')))
      throw new CliError(`login cancelled: ${server} was not trusted (see --ca-file and --trust-fingerprint)`);
    return { fingerprint: err.fingerprint };
  }
}
