// Logging in through an identity provider from the CLI. The CLI holds the state, the
// nonce and the PKCE verifier; the operator holds the client secret and exchanges the
// code. Three ways to get the code to the CLI:
//  - the browser: a loopback redirect (http://127.0.0.1:PORT/callback) the CLI listens on;
//  - copy and paste (--no-browser): the same redirect URI, and when the browser runs on
//    another machine the person pastes the address it ended at (or just the code);
//  - the device flow (--device), where the provider offers it: a code to enter at a URL.
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { devicePending, loginProvidersPath, type LoginProvider, type LoginProviderList, type LoginSpec, type LoginStatus } from '../api/auth/v1alpha1/types.ts';
import type { InfraClient } from './api.ts';
import { ApiStatusError, CliError } from './errors.ts';
import type { Io } from './io.ts';

/** How long the CLI waits for the person to finish at the provider. */
const loginTimeoutMs = 5 * 60_000;

export async function loginProviders(client: InfraClient): Promise<LoginProvider[]> {
  return ((await client.request('GET', loginProvidersPath)) as LoginProviderList).items;
}

/** The provider with this name, ready for a login; a CliError that names the others otherwise. */
export function chooseProvider(providers: LoginProvider[], name: string, server: string): LoginProvider {
  const provider = providers.find((p) => p.name === name);
  if (!provider) {
    const others = providers.map((p) => p.name);
    throw new CliError(
      `${server} has no identity provider named "${name}"${others.length > 0 ? `; use one of ${others.join(', ')}` : '; log in with --user EMAIL instead'}`,
    );
  }
  if (!provider.ready || !provider.authorizationEndpoint)
    throw new CliError(`cannot log in through ${name} right now: ${provider.message ?? 'it is not ready'}`);
  return provider;
}

export interface ProviderLoginOptions {
  /** Open the browser (default); false prints the address and also accepts a pasted one. */
  browser: boolean;
  device: boolean;
}

/** Runs the provider's login and returns the operator's answer to the Login. */
export async function loginThroughProvider(io: Io, client: InfraClient, provider: LoginProvider, options: ProviderLoginOptions): Promise<LoginStatus> {
  if (options.device) return loginWithDevice(io, client, provider);
  const grant = await authorizationCode(io, provider, options.browser);
  return client.create('Login', { provider: provider.name, ...grant });
}

const base64url = (bytes: Buffer) => bytes.toString('base64url');

/** The authorization request's secrets, kept by the CLI. */
export function authorizationSecrets(): { state: string; nonce: string; codeVerifier: string; codeChallenge: string } {
  const codeVerifier = base64url(randomBytes(32));
  return {
    state: base64url(randomBytes(16)),
    nonce: base64url(randomBytes(16)),
    codeVerifier,
    codeChallenge: base64url(createHash('sha256').update(codeVerifier).digest()),
  };
}

export function authorizationURL(provider: LoginProvider, redirectURI: string, secrets: { state: string; nonce: string; codeChallenge: string }): string {
  const url = httpsURL(provider.authorizationEndpoint!, `${provider.name}'s authorization endpoint`);
  for (const [key, value] of Object.entries({
    ...provider.parameters,
    response_type: 'code',
    client_id: provider.clientID,
    redirect_uri: redirectURI,
    scope: provider.scopes.join(' '),
    state: secrets.state,
    nonce: secrets.nonce,
    code_challenge: secrets.codeChallenge,
    code_challenge_method: 'S256',
  }))
    url.searchParams.set(key, value);
  return url.href;
}

/**
 * An address the server gave us to send the person to, only if it is https: a server
 * must not make the CLI open a file:, javascript: or custom-scheme URL, nor lead the
 * person to a login page in the clear.
 */
function httpsURL(address: string, what: string): URL {
  let url: URL | undefined;
  try {
    url = new URL(address);
  } catch {
    url = undefined;
  }
  if (url?.protocol !== 'https:')
    throw new CliError(`${what} ${JSON.stringify(address)} is not an https:// address; refusing to open it. Ask an Infra admin to check the Provider's issuer`);
  return url;
}

type CodeGrant = Required<Pick<LoginSpec, 'code' | 'redirectURI' | 'codeVerifier' | 'nonce'>>;

/** The browser or copy-and-paste flow: the code the provider sends to the redirect URI. */
async function authorizationCode(io: Io, provider: LoginProvider, browser: boolean): Promise<CodeGrant> {
  const secrets = authorizationSecrets();
  const callback = await loopbackCallback();
  try {
    const url = authorizationURL(provider, callback.redirectURI, secrets);
    const opened = browser && (await io.openBrowser(url));
    if (opened) io.err(`Your browser has been opened to log in with ${provider.name}. If it did not open, visit:\n\n  ${url}\n`);
    else io.err(`To log in with ${provider.name}, open this address in a browser:\n\n  ${url}\n`);
    const done = new AbortController();
    const pasted = !opened && io.interactive ? [pastedRedirect(io, done.signal)] : [];
    const timeout = sleep(loginTimeoutMs, undefined, { ref: false, signal: done.signal }).then(() => {
      throw new CliError(`no answer from ${provider.name} within ${loginTimeoutMs / 60_000} minutes: run infra login again`);
    });
    try {
      const params = await Promise.race([callback.params, ...pasted, timeout]);
      return { ...checkRedirect(provider, params, secrets.state), redirectURI: callback.redirectURI, codeVerifier: secrets.codeVerifier, nonce: secrets.nonce };
    } finally {
      done.abort();
    }
  } finally {
    callback.close();
  }
}

/** The redirect's parameters: the code, after the state and issuer are checked; the provider's error otherwise. */
export function checkRedirect(provider: LoginProvider, params: URLSearchParams, state: string): { code: string } {
  const error = params.get('error');
  if (error)
    throw new CliError(`${provider.name} refused the login: ${error}${params.get('error_description') ? ` (${params.get('error_description')})` : ''}`);
  // A pasted bare code has no state to check; the PKCE verifier still binds it to this login.
  if (params.has('state') && params.get('state') !== state)
    throw new CliError('the login answer does not belong to this login (state mismatch): run infra login again');
  const iss = params.get('iss');
  if (iss !== null && iss !== provider.issuer) throw new CliError(`the login answer came from ${iss}, not from ${provider.issuer}: run infra login again`);
  const code = params.get('code');
  if (!code) throw new CliError(`${provider.name} sent no authorization code`);
  return { code };
}

interface LoopbackCallback {
  redirectURI: string;
  params: Promise<URLSearchParams>;
  close(): void;
}

/** Listens on 127.0.0.1 (a random port) for the provider's redirect to /callback. */
async function loopbackCallback(): Promise<LoopbackCallback> {
  let resolve!: (params: URLSearchParams) => void;
  const params = new Promise<URLSearchParams>((r) => (resolve = r));
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname !== '/callback') return void res.writeHead(404).end();
    const failed = url.searchParams.has('error');
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(
      `<!DOCTYPE html><html><head><title>Infra</title></head><body><p>${failed ? 'The login did not succeed' : 'Done'}: you can close this window and return to your terminal.</p></body></html>`,
    );
    resolve(url.searchParams);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    redirectURI: `http://127.0.0.1:${(server.address() as AddressInfo).port}/callback`,
    params,
    close: () => server.close(),
  };
}

/** What the person pastes on the terminal: the address their browser ended at, or the code alone. */
async function pastedRedirect(io: Io, signal: AbortSignal): Promise<URLSearchParams> {
  io.err("If the browser runs on another machine, its last page will not load: paste that page's address here.");
  return parsePasted(await io.prompt.input('Address (or code):', signal));
}

export function parsePasted(text: string): URLSearchParams {
  const trimmed = text.trim();
  if (/^https?:\/\//i.test(trimmed)) return new URL(trimmed).searchParams;
  return new URLSearchParams({ code: trimmed });
}

/** The device flow: the person enters a code at the provider; the CLI asks the operator until they did. */
async function loginWithDevice(io: Io, client: InfraClient, provider: LoginProvider): Promise<LoginStatus> {
  if (!provider.deviceAuthorization)
    throw new CliError(`${provider.name} does not offer the device flow: log in without --device (--no-browser prints an address to open anywhere)`);
  const device = await client.create('DeviceAuthorization', { provider: provider.name });
  httpsURL(device.verificationURI, `${provider.name}'s device verification address`);
  if (device.verificationURIComplete) httpsURL(device.verificationURIComplete, `${provider.name}'s device verification address`);
  io.err(`To log in with ${provider.name}, open ${device.verificationURI} and enter the code ${device.userCode}`);
  if (device.verificationURIComplete) io.err(`(or open ${device.verificationURIComplete})`);
  const deadline = Date.parse(device.expirationTimestamp);
  let intervalMs = device.interval * 1000;
  while (Date.now() < deadline) {
    await sleep(intervalMs);
    try {
      return await client.create('Login', { provider: provider.name, deviceCode: device.deviceCode });
    } catch (err) {
      if (!(err instanceof ApiStatusError) || err.code !== 409) throw err;
      if (err.reason === devicePending.SlowDown) intervalMs += 5_000;
      else if (err.reason !== devicePending.AuthorizationPending) throw err;
    }
  }
  throw new CliError(`the code ${device.userCode} expired before the login was approved: run infra login again`);
}
