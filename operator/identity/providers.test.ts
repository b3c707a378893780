// Infra as the OAuth client of a real OpenID Provider (the test OP, in process): the code
// flow with PKCE and nonce driven by a browser-like HTTP client, refresh with changed
// groups, a disabled user, wrong client credentials, an unreachable provider, the device flow.
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { getCACertificates, setDefaultCACertificates } from 'node:tls';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Provider } from '../../api/v1alpha1/types.ts';
import { approveDevice, Browser, signIn } from '../../test/browser.ts';
import { startOIDCProvider, type TestOP } from '../../test/oidc-provider.ts';
import { UpstreamError } from './errors.ts';
import { providerSecretBinding, type StoredSecret } from '../secret-refs.ts';
import { ProviderClients, scopesOf } from './providers.ts';

let op: TestOP;
let callback: Server;
let redirectURI: string;
let secrets: Record<string, string>;

const provider = (overrides: Partial<Provider['spec']> = {}, name = 'test'): Provider => ({
  apiVersion: 'infrahq.com/v1alpha1',
  kind: 'Provider',
  metadata: { name, generation: 1 },
  spec: { kind: 'oidc', issuer: op.issuer, clientID: op.client.id, clientSecretRef: { name: 'idp', key: 'clientSecret' }, ...overrides },
});
/** The Secrets in `secrets` (name/key → value), each bound to the Provider test at the OP. */
const readStoredSecret = async (name: string): Promise<StoredSecret | undefined> => {
  const data = Object.fromEntries(
    Object.entries(secrets)
      .filter(([path]) => path.startsWith(`${name}/`))
      .map(([path, value]) => [path.slice(name.length + 1), value]),
  );
  return Object.keys(data).length === 0 ? undefined : { ...providerSecretBinding('test', op.issuer), data };
};
const clients = () => new ProviderClients({ readStoredSecret });

/** What the CLI does: an authorization URL with PKCE, state and nonce; a browser signs in; the code comes back. */
async function authorize(email: string, password: string, p = provider()) {
  const info = await clients().authorization(p);
  const codeVerifier = oidc.randomPKCECodeVerifier();
  const nonce = oidc.randomNonce();
  const state = oidc.randomState();
  const url = new URL(info.authorizationEndpoint!);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: info.clientID,
    redirect_uri: redirectURI,
    scope: info.scopes.join(' '),
    state,
    nonce,
    code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
  }).toString();
  const page = await signIn(new Browser([op.ca]), url.href, { email, password });
  const back = new URL(page.url);
  expect(back.searchParams.get('state')).toBe(state);
  return { code: back.searchParams.get('code')!, codeVerifier, nonce, redirectURI };
}

beforeAll(async () => {
  op = await startOIDCProvider();
  setDefaultCACertificates([...getCACertificates('default'), op.ca]);
  secrets = { 'idp/clientSecret': op.client.secret };
  callback = createServer((_req, res) => res.end('logged in'));
  callback.listen(0, '127.0.0.1');
  await once(callback, 'listening');
  redirectURI = `http://127.0.0.1:${(callback.address() as AddressInfo).port}/callback`;
});

afterAll(async () => {
  callback?.close();
  await op?.close();
});

describe('the authorization code flow', () => {
  it('yields the email and the groups named by the Provider (from userinfo, since the ID token of a code flow carries neither) and a refresh token', async () => {
    op.addUser('ann@example.com', 'ann-password', ['eng', 'oncall']);
    const identity = await clients().exchangeCode(provider(), await authorize('ann@example.com', 'ann-password'));
    expect(identity).toMatchObject({ email: 'ann@example.com', groups: ['test:eng', 'test:oncall'], session: { subject: expect.stringMatching(/^user-/) } });
    expect(identity.session.refreshToken.length).toBeGreaterThan(20);
  });

  it('refuses a wrong code verifier, a wrong nonce, and a code used twice', async () => {
    op.addUser('bob@example.com', 'bob-password', []);
    const c = clients();
    const wrongVerifier = await authorize('bob@example.com', 'bob-password');
    await expect(c.exchangeCode(provider(), { ...wrongVerifier, codeVerifier: oidc.randomPKCECodeVerifier() })).rejects.toMatchObject({
      problem: 'rejected',
      message: expect.stringContaining('invalid_grant'),
    });
    const wrongNonce = await authorize('bob@example.com', 'bob-password');
    await expect(c.exchangeCode(provider(), { ...wrongNonce, nonce: oidc.randomNonce() })).rejects.toMatchObject({
      problem: 'rejected',
      message: expect.stringContaining('nonce'),
    });
    const once = await authorize('bob@example.com', 'bob-password');
    await c.exchangeCode(provider(), once);
    await expect(c.exchangeCode(provider(), once)).rejects.toMatchObject({ problem: 'rejected' });
  });

  it('reads groups from the claim spec.groupsClaim names', async () => {
    op.addUser('cy@example.com', 'cy-password', ['sre']);
    const identity = await clients().exchangeCode(provider({ groupsClaim: 'roles' }), await authorize('cy@example.com', 'cy-password'));
    expect(identity.groups).toEqual([]);
  });

  it("uses the kind's default scopes unless spec.scopes says otherwise", () => {
    expect(scopesOf(provider())).toEqual(['openid', 'email', 'profile', 'groups', 'offline_access']);
    expect(scopesOf(provider({ kind: 'okta' }))).toContain('groups');
    expect(scopesOf(provider({ scopes: ['openid', 'email', 'groups', 'offline_access'] }))).toEqual(['openid', 'email', 'groups', 'offline_access']);
  });
});

describe('refreshing an upstream session', () => {
  it('sees group changes, and refuses a user disabled at the provider', async () => {
    op.addUser('dee@example.com', 'dee-password', ['eng', 'oncall']);
    const c = clients();
    const first = await c.exchangeCode(provider(), await authorize('dee@example.com', 'dee-password'));
    op.setGroups('dee@example.com', ['eng']);
    const refreshed = await c.refresh(provider(), 'dee@example.com', first.session);
    expect(refreshed.groups).toEqual(['test:eng']);
    expect(refreshed.session.subject).toBe(first.session.subject);
    op.disable('dee@example.com');
    const refused = await c.refresh(provider(), 'dee@example.com', refreshed.session).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(UpstreamError);
    expect(refused).toMatchObject({ problem: 'rejected', message: expect.stringContaining('invalid_grant') });
  });
});

describe('the client credentials check', () => {
  it('passes with the right secret and names invalid_client for a wrong one', async () => {
    await clients().checkCredentials(provider());
    secrets['idp/wrong'] = 'not-the-secret';
    const wrong = provider({ clientSecretRef: { name: 'idp', key: 'wrong' } });
    await expect(clients().checkCredentials(wrong)).rejects.toMatchObject({ problem: 'misconfigured', message: expect.stringContaining('invalid_client') });
    const missing = provider({ clientSecretRef: { name: 'idp', key: 'absent' } });
    await expect(clients().checkCredentials(missing)).rejects.toMatchObject({
      problem: 'misconfigured',
      message: expect.stringContaining('has no key absent'),
    });
  });
});

describe("a Provider's Secret", () => {
  it("is refused, before anything reaches the issuer, when it is another Provider's or bound to another issuer", async () => {
    const other = provider({}, 'other');
    await expect(clients().checkCredentials(other)).rejects.toMatchObject({
      problem: 'misconfigured',
      message: expect.stringContaining(`Provider other may not use Secret idp: it is labelled infrahq.com/provider=test`),
    });
    const elsewhere = provider({ issuer: 'https://127.0.0.1:1/elsewhere' });
    await expect(clients().checkCredentials(elsewhere)).rejects.toMatchObject({
      problem: 'misconfigured',
      message: expect.stringContaining(`it is annotated infrahq.com/issuer=${op.issuer}`),
    });
  });
});

describe('the device flow', () => {
  it('is pending until the person approves at the provider, then yields the identity', async () => {
    op.addUser('eve@example.com', 'eve-password', ['ops']);
    const c = clients();
    expect((await c.authorization(provider())).deviceAuthorization).toBe(false);
    expect((await c.authorization(provider({ deviceFlow: true }))).deviceAuthorization).toBe(true);
    const started = await c.startDevice(provider());
    expect(await c.pollDevice(provider(), started.device_code)).toEqual({ pending: 'AuthorizationPending' });
    // The person opens the verification URI, enters the code, signs in and confirms.
    await approveDevice(new Browser([op.ca]), started.verification_uri, started.user_code, { email: 'eve@example.com', password: 'eve-password' });
    const done = await c.pollDevice(provider(), started.device_code);
    expect(done).toMatchObject({ identity: { email: 'eve@example.com', groups: ['test:ops'] } });
  });
});

describe('an unreachable provider', () => {
  it('is an outage, not a refusal', async () => {
    op.addUser('fay@example.com', 'fay-password', []);
    const c = clients();
    const identity = await c.exchangeCode(provider(), await authorize('fay@example.com', 'fay-password'));
    await op.stop();
    try {
      await expect(c.refresh(provider(), 'fay@example.com', identity.session)).rejects.toMatchObject({
        problem: 'unavailable',
        message: expect.stringContaining('cannot reach the identity provider'),
      });
      await expect(clients().authorization(provider())).rejects.toMatchObject({ problem: 'unavailable' });
    } finally {
      await op.start();
    }
  });
});
