// A real OpenID Provider for tests: the `oidc-provider` package on loopback HTTPS, with
// an account store the test controls (add users, change their groups, disable them),
// its own login and consent pages as plain HTML forms, refresh tokens, PKCE required,
// the device flow, and one confidential client for Infra.
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair } from 'jose';
import Provider, { type Account, type Configuration } from 'oidc-provider';
import { createCertificateAuthority } from '../lib/pki.ts';

export interface TestAccount {
  email: string;
  password: string;
  groups: string[];
  enabled: boolean;
}

export interface TestOP {
  /** https://127.0.0.1:<port>: the issuer, exactly as discovery reports it. */
  issuer: string;
  /** PEM of the CA that signed the OP's certificate, and a file with it (NODE_EXTRA_CA_CERTS). */
  ca: string;
  caFile: string;
  client: { id: string; secret: string };
  /** The client ID of every request that authenticated a client with HTTP Basic (token, introspection...), in order. */
  clientsSeen: string[];
  addUser(email: string, password: string, groups: string[]): void;
  setGroups(email: string, groups: string[]): void;
  /** A disabled user cannot log in, and refreshing their tokens fails with invalid_grant. */
  disable(email: string): void;
  /** Closes the listener and every connection: the OP becomes unreachable. */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  start(): Promise<void>;
  /** Stops for good and removes its files. */
  close(): Promise<void>;
}

const loginPath = /^\/interaction\/([A-Za-z0-9_-]+)(\/login|\/confirm)?$/;

export async function startOIDCProvider(): Promise<TestOP> {
  const accounts = new Map<string, TestAccount & { sub: string }>();
  const bySub = (sub: string) => [...accounts.values()].find((a) => a.sub === sub);

  const ca = await createCertificateAuthority('test OpenID Provider CA');
  const serving = await ca.issue({ commonName: '127.0.0.1', ipAddresses: ['127.0.0.1'], dnsNames: ['localhost'], usage: 'server' });
  const dir = await mkdtemp(join(tmpdir(), 'infra-test-op-'));
  const caFile = join(dir, 'ca.crt');
  await writeFile(caFile, ca.cert);

  // Listen first: the issuer must name the port.
  let provider: Provider | undefined = undefined;
  const clientsSeen: string[] = [];
  const server: Server = createServer({ cert: serving.cert, key: serving.key }, (req, res) => {
    const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '');
    if (basic) clientsSeen.push(decodeURIComponent(Buffer.from(basic[1]!, 'base64').toString().split(':')[0]!));
    const interaction = loginPath.exec(req.url?.split('?')[0] ?? '');
    if (interaction) void interact(provider!, accounts, bySub, req, res, interaction[1]!, interaction[2]).catch((err: unknown) => fail(res, err));
    else void provider!.callback()(req, res);
  });
  const sockets = new Set<import('node:net').Socket>();
  server.on('secureConnection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  const issuer = `https://127.0.0.1:${port}`;

  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const client = { id: 'infra', secret: randomBytes(24).toString('base64url') };
  const configuration: Configuration = {
    clients: [
      {
        client_id: client.id,
        client_secret: client.secret,
        // A native client: any port of this loopback URI is allowed (RFC 8252 7.3).
        application_type: 'native',
        redirect_uris: ['http://127.0.0.1/callback'],
        grant_types: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    jwks: { keys: [{ ...(await exportJWK(privateKey)), alg: 'RS256', use: 'sig', kid: 'test' }] as never },
    cookies: { keys: [randomBytes(16).toString('hex')] },
    scopes: ['openid', 'offline_access', 'email', 'profile', 'groups'],
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'], groups: ['groups'] },
    features: { devInteractions: { enabled: false }, deviceFlow: { enabled: true }, revocation: { enabled: true }, userinfo: { enabled: true } },
    pkce: { required: () => true },
    // Refresh tokens whenever the client may use them, as Okta and Azure AD do for offline_access.
    issueRefreshToken: async (_ctx, c) => c.grantTypeAllowed('refresh_token'),
    ttl: { AccessToken: 600, IdToken: 600, RefreshToken: 86_400, Interaction: 600, Session: 86_400, Grant: 86_400, DeviceCode: 600 },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    findAccount: (_ctx, sub): Account | undefined => {
      const account = bySub(sub);
      if (!account?.enabled) return undefined;
      return {
        accountId: sub,
        claims: () => ({ sub, email: account.email, email_verified: true, name: account.email.split('@')[0], groups: [...account.groups] }),
      };
    },
  };
  provider = new Provider(issuer, configuration);
  // The library logs its own warnings about defaults to stderr; tests keep quiet.
  provider.on('server_error', (_ctx, err) => console.error('test OP server_error', err));

  const stop = async () => {
    if (!server.listening) return;
    const closed = once(server, 'close');
    server.close();
    for (const socket of sockets) socket.destroy();
    await closed;
  };
  const account = (email: string) => {
    const found = accounts.get(email.toLowerCase());
    if (!found) throw new Error(`the test OP has no user ${email}`);
    return found;
  };
  return {
    issuer,
    ca: ca.cert,
    caFile,
    client,
    clientsSeen,
    addUser(email, password, groups) {
      accounts.set(email.toLowerCase(), { email, password, groups, enabled: true, sub: `user-${randomBytes(6).toString('hex')}` });
    },
    setGroups(email, groups) {
      account(email).groups = groups;
    },
    disable(email) {
      account(email).enabled = false;
    },
    stop,
    async start() {
      server.listen(port, '127.0.0.1');
      await once(server, 'listening');
    },
    async close() {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

type Accounts = Map<string, TestAccount & { sub: string }>;

/** The OP's own interaction pages: a login form, then a consent form. */
async function interact(
  provider: Provider,
  accounts: Accounts,
  bySub: (sub: string) => { email: string } | undefined,
  req: IncomingMessage,
  res: ServerResponse,
  uid: string,
  action: string | undefined,
): Promise<void> {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw new Error('interaction mismatch');
  if (req.method === 'GET') {
    if (details.prompt.name === 'login') return page(res, loginForm(uid));
    const who = bySub(String(details.session?.accountId ?? ''))?.email ?? 'you';
    return page(
      res,
      `<h1>Allow Infra?</h1><p>Signed in as ${escape(who)}.</p><form method="post" action="/interaction/${uid}/confirm"><button type="submit">Allow</button></form>`,
    );
  }
  const form = new URLSearchParams(await body(req));
  if (action === '/login') {
    const account = accounts.get((form.get('email') ?? '').toLowerCase());
    if (!account || !account.enabled || account.password !== form.get('password')) return page(res, loginForm(uid, 'Wrong email or password.'), 401);
    return provider.interactionFinished(req, res, { login: { accountId: account.sub } }, { mergeWithLastSubmission: false });
  }
  const { prompt, params, session } = details;
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId: session!.accountId, clientId: String(params['client_id']) });
  const missing = prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[] };
  if (missing.missingOIDCScope) grant!.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant!.addOIDCClaims(missing.missingOIDCClaims);
  const grantId = await grant!.save();
  return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
}

function loginForm(uid: string, error?: string): string {
  return `<h1>Sign in</h1>${error ? `<p class="error">${escape(error)}</p>` : ''}
<form method="post" action="/interaction/${uid}/login">
  <input type="email" name="email" value="">
  <input type="password" name="password" value="">
  <button type="submit">Sign in</button>
</form>`;
}

function page(res: ServerResponse, html: string, status = 200): void {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' }).end(`<!DOCTYPE html><html><body>${html}</body></html>`);
}

function fail(res: ServerResponse, err: unknown): void {
  if (!res.headersSent) page(res, `<p>${escape(err instanceof Error ? err.message : String(err))}</p>`, 400);
}

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

async function body(req: IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of req) text += String(chunk);
  return text;
}
