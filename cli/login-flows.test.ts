// infra login through identity providers (browser with a loopback redirect, copy and
// paste, device flow), one-time passwords, and `infra password`, with a fake server and a
// fake browser that plays the provider's redirect to the CLI's real loopback listener.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { loginProvidersPath, type LoginProvider } from '../api/auth/v1alpha1/types.ts';
import { browserCommand } from './browser.ts';
import { loadConfig } from './config.ts';
import { passwordChoice } from './commands/login.ts';
import { ApiStatusError } from './errors.ts';
import { parsePasted } from './provider-login.ts';
import { defaultHandler, fake, server, type Handler } from './testing.ts';

const okta: LoginProvider = {
  name: 'okta',
  kind: 'okta',
  issuer: 'https://acme.okta.com',
  ready: true,
  authorizationEndpoint: 'https://acme.okta.com/oauth2/v1/authorize',
  clientID: '0oa123',
  scopes: ['openid', 'email', 'groups', 'offline_access'],
  parameters: {},
  deviceAuthorization: true,
};
const providers = (items: LoginProvider[]) => (method: string, path: string) => {
  if (method === 'GET' && path === loginProvidersPath) return { items };
  throw new Error(`unexpected ${method} ${path}`);
};

/** A browser that lets the provider redirect back at once, with these parameters (and the request's state unless given). */
const redirectingBrowser = (params: (authorization: URL) => Record<string, string>) => (url: string) => {
  const authorization = new URL(url);
  const back = new URL(authorization.searchParams.get('redirect_uri')!);
  for (const [k, v] of Object.entries({ state: authorization.searchParams.get('state')!, ...params(authorization) })) back.searchParams.set(k, v);
  void fetch(back);
  return true;
};

describe('infra login --provider (browser)', () => {
  it('opens the authorization URL with PKCE, state and nonce, and sends the code from the loopback redirect to the operator', async () => {
    const f = fake({ loggedIn: false, request: providers([okta]), browser: redirectingBrowser(() => ({ code: 'the-code', iss: okta.issuer })) });
    await f.run('login', server, '--provider', 'okta');
    const url = new URL(f.opened[0]!);
    expect(url.origin + url.pathname).toBe(okta.authorizationEndpoint);
    expect(Object.fromEntries(url.searchParams)).toMatchObject({
      response_type: 'code',
      client_id: '0oa123',
      scope: 'openid email groups offline_access',
      code_challenge_method: 'S256',
    });
    expect(url.searchParams.get('redirect_uri')).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback$/);
    const login = f.calls[0]!;
    expect(login.kind).toBe('Login');
    const spec = login.spec as { provider: string; code: string; redirectURI: string; codeVerifier: string; nonce: string };
    expect(spec).toMatchObject({ provider: 'okta', code: 'the-code', redirectURI: url.searchParams.get('redirect_uri'), nonce: url.searchParams.get('nonce') });
    expect(createHash('sha256').update(spec.codeVerifier).digest('base64url')).toBe(url.searchParams.get('code_challenge'));
    expect(f.calls.map((c) => c.kind)).toEqual(['Login', 'AccessReview']);
    expect(f.err.join('\n')).toContain('Your browser has been opened to log in with okta');
    expect(loadConfig(f.io.env).servers[server]?.session?.key).toBe('iss_new.secret');
  });

  it('refuses an answer with another state, from another issuer, or an error from the provider', async () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ code: 'x', state: 'forged' }, /does not belong to this login \(state mismatch\)/],
      [{ code: 'x', iss: 'https://evil.example.com' }, /came from https:\/\/evil\.example\.com, not from https:\/\/acme\.okta\.com/],
      [
        { error: 'access_denied', error_description: 'User is not assigned to the client application.' },
        /okta refused the login: access_denied \(User is not assigned to the client application\.\)/,
      ],
    ];
    for (const [params, message] of cases) {
      const f = fake({ loggedIn: false, request: providers([okta]), browser: redirectingBrowser(() => params) });
      await expect(f.run('login', server, '--provider', 'okta')).rejects.toThrow(message);
      expect(f.calls).toEqual([]);
    }
  });

  it('names the providers there are, and says why one cannot be used', async () => {
    await expect(fake({ loggedIn: false, request: providers([okta]) }).run('login', server, '--provider', 'google')).rejects.toThrow(
      `${server} has no identity provider named "google"; use one of okta`,
    );
    const down = { ...okta, ready: false, message: 'cannot reach https://acme.okta.com/.well-known/openid-configuration: ECONNREFUSED' };
    await expect(fake({ loggedIn: false, request: providers([down]) }).run('login', server, '--provider', 'okta')).rejects.toThrow(
      'cannot log in through okta right now: cannot reach https://acme.okta.com/.well-known/openid-configuration: ECONNREFUSED',
    );
  });

  it("passes the operator's reason through when the provider refused the code", async () => {
    const handler: Handler = (kind, spec, options) =>
      kind === 'Login'
        ? Promise.reject(
            new ApiStatusError(
              401,
              'Unauthorized',
              'login through okta failed: the identity provider refused while exchanging the authorization code: invalid_grant',
            ),
          )
        : defaultHandler(kind, spec, options);
    const f = fake({ loggedIn: false, handler, request: providers([okta]), browser: redirectingBrowser(() => ({ code: 'stale' })) });
    await expect(f.run('login', server, '--provider', 'okta')).rejects.toThrow(/^login through okta failed: .*invalid_grant$/);
  });

  it('on a terminal, offers the ready providers and email and password', async () => {
    const f = fake({
      loggedIn: false,
      interactive: true,
      request: providers([okta]),
      answers: { 'Log in with:': 'okta' },
      browser: redirectingBrowser(() => ({ code: 'c' })),
    });
    await f.run('login', server);
    expect(f.calls[0]).toMatchObject({ kind: 'Login', spec: { provider: 'okta', code: 'c' } });
  });
});

describe('addresses the server sends the person to', () => {
  it('opens only https: a file:, javascript: or http: authorization endpoint is refused before any browser starts', async () => {
    for (const authorizationEndpoint of [
      'file:///etc/passwd',
      'javascript:alert(1)',
      'http://acme.okta.com/oauth2/v1/authorize',
      'x-custom:login',
      'not a url',
    ]) {
      const f = fake({ loggedIn: false, request: providers([{ ...okta, authorizationEndpoint }]), browser: () => true });
      await expect(f.run('login', server, '--provider', 'okta'), authorizationEndpoint).rejects.toThrow(/is not an https:\/\/ address; refusing to open it/);
      expect(f.opened).toEqual([]);
      expect(f.calls).toEqual([]);
    }
  });

  it('refuses a device verification address that is not https, and sends no Login', async () => {
    const handler: Handler = (kind, spec, options) =>
      kind === 'DeviceAuthorization'
        ? {
            userCode: 'WDJB-MJHT',
            verificationURI: 'javascript:alert(1)',
            deviceCode: 'dc',
            expirationTimestamp: new Date(Date.now() + 60_000).toISOString(),
            interval: 0,
          }
        : defaultHandler(kind, spec, options);
    const f = fake({ loggedIn: false, handler, request: providers([okta]) });
    await expect(f.run('login', server, '--provider', 'okta', '--device')).rejects.toThrow(
      /device verification address "javascript:alert\(1\)" is not an https:\/\/ address/,
    );
    expect(f.calls.map((c) => c.kind)).toEqual(['DeviceAuthorization']);
  });
});

describe('infra login --no-browser (copy and paste)', () => {
  it('prints the address instead of opening a browser, and takes a pasted address or code', async () => {
    const f = fake({ loggedIn: false, interactive: true, request: providers([okta]), answers: { 'Address (or code):': 'pasted-code' } });
    await f.run('login', server, '--provider', 'okta', '--no-browser');
    expect(f.opened).toEqual([]);
    expect(f.err.join('\n')).toMatch(/To log in with okta, open this address in a browser:\n\n {2}https:\/\/acme\.okta\.com\/oauth2\/v1\/authorize\?/);
    expect(f.calls[0]).toMatchObject({ kind: 'Login', spec: { provider: 'okta', code: 'pasted-code' } });
  });

  it('reads the code and state of a pasted address', () => {
    expect(Object.fromEntries(parsePasted(' http://127.0.0.1:4711/callback?code=abc&state=xyz '))).toEqual({ code: 'abc', state: 'xyz' });
    expect(Object.fromEntries(parsePasted('abc'))).toEqual({ code: 'abc' });
  });
});

describe('infra login --device', () => {
  it('shows the code and where to enter it, and asks the operator until the person approved', async () => {
    let polls = 0;
    const handler: Handler = (kind, spec, options) => {
      if (kind === 'DeviceAuthorization')
        return {
          userCode: 'WDJB-MJHT',
          verificationURI: 'https://acme.okta.com/activate',
          deviceCode: 'dc',
          expirationTimestamp: new Date(Date.now() + 60_000).toISOString(),
          interval: 0,
        };
      if (kind === 'Login' && ++polls < 3) return Promise.reject(new ApiStatusError(409, 'AuthorizationPending', 'still waiting'));
      return defaultHandler(kind, spec, options);
    };
    const f = fake({ loggedIn: false, handler, request: providers([okta]) });
    await f.run('login', server, '--provider', 'okta', '--device');
    expect(f.err[0]).toBe('To log in with okta, open https://acme.okta.com/activate and enter the code WDJB-MJHT');
    expect(f.calls.filter((c) => c.kind === 'Login').map((c) => c.spec)).toEqual(Array(3).fill({ provider: 'okta', deviceCode: 'dc' }));
    expect(f.opened).toEqual([]);
  });

  it('says when the provider has no device flow', async () => {
    const f = fake({ loggedIn: false, request: providers([{ ...okta, deviceAuthorization: false }]) });
    await expect(f.run('login', server, '--provider', 'okta', '--device')).rejects.toThrow('okta does not offer the device flow');
  });
});

describe('one-time passwords', () => {
  const oneTime: Handler = (kind, spec, options) => {
    if (kind === 'Login') return { ...(defaultHandler(kind, spec, options) as object), passwordChangeRequired: true };
    if (kind === 'PasswordChange') return { user: 'alice@example.com' };
    return defaultHandler(kind, spec, options);
  };

  it('replaces a one-time password with the second line of standard input, then goes on', async () => {
    const f = fake({ loggedIn: false, handler: oneTime, stdin: 'k3m9p-x7q2r-abcde-fghjk\na new long password\n' });
    await f.run('login', server, '--user', 'alice@example.com', '--password-stdin');
    expect(f.calls.map((c) => [c.kind, c.spec, c.options.bearer])).toEqual([
      ['Login', { email: 'alice@example.com', password: 'k3m9p-x7q2r-abcde-fghjk' }, undefined],
      ['PasswordChange', { currentPassword: 'k3m9p-x7q2r-abcde-fghjk', newPassword: 'a new long password' }, 'iss_new.secret'],
      ['AccessReview', {}, 'iss_new.secret'],
    ]);
    expect(f.err).toContain('Password changed for alice@example.com.');
  });

  it('asks twice on a terminal', async () => {
    const answers = {
      'Log in with:': passwordChoice,
      'Email:': 'alice@example.com',
      'Password:': 'one-time',
      'New password (at least 12 characters):': 'a new long password',
      'New password again:': 'a new long password',
    };
    const f = fake({ loggedIn: false, interactive: true, handler: oneTime, answers });
    await f.run('login', server);
    expect(f.calls[1]).toMatchObject({ kind: 'PasswordChange', spec: { currentPassword: 'one-time', newPassword: 'a new long password' } });
  });

  it('without a new password, keeps the session and says how to set one', async () => {
    const f = fake({ loggedIn: false, handler: oneTime, stdin: 'one-time\n' });
    await expect(f.run('login', server, '--user', 'alice@example.com', '--password-stdin')).rejects.toThrow(
      /one-time password: set your own with `infra password`/,
    );
    expect(loadConfig(f.io.env).servers[server]?.session?.key).toBe('iss_new.secret');
  });

  it('infra password --stdin changes the password with the session', async () => {
    const f = fake({ handler: oneTime, stdin: 'old password\na new long password\n' });
    await f.run('password', '--stdin');
    expect(f.calls).toMatchObject([
      { kind: 'PasswordChange', spec: { currentPassword: 'old password', newPassword: 'a new long password' }, options: { bearer: 'iss_old.secret' } },
    ]);
    const refused = fake({
      stdin: 'wrong\na new long password\n',
      handler: () => Promise.reject(new ApiStatusError(403, 'Forbidden', 'the current password is wrong')),
    });
    await expect(refused.run('password', '--stdin')).rejects.toThrow('the password was not changed: the current password is wrong');
  });
});

describe('opening the browser', () => {
  it('runs $BROWSER (with %s, or the URL last), else the platform opener; none on a headless Linux', () => {
    const url = 'https://idp.example.com/authorize?x=1';
    expect(browserCommand(url, { BROWSER: '/tmp/capture.sh' })).toEqual(['/tmp/capture.sh', url]);
    expect(browserCommand(url, { BROWSER: 'firefox --new-tab %s:chromium' })).toEqual(['firefox', '--new-tab', url]);
    expect(browserCommand(url, {}, 'darwin')).toEqual(['open', url]);
    expect(browserCommand(url, { DISPLAY: ':0' }, 'linux')).toEqual(['xdg-open', url]);
    expect(browserCommand(url, {}, 'linux')).toBeUndefined();
  });
});
