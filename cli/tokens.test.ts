import { execFile } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { testDirectory } from '../test/temporary.ts';
import type { AuthClient, ClientOptions } from './api.ts';
import { saveConfig } from './config.ts';
import { ApiStatusError, CliError } from './errors.ts';
import { credentialFor, tokenCachePath } from './tokens.ts';

const run = promisify(execFile);
const server = 'https://infra.example.com';

function home(current = server): NodeJS.ProcessEnv {
  const env = { INFRA_HOME: testDirectory('infra-cli-tokens-') };
  saveConfig(
    {
      current,
      servers: {
        [current]: {
          trust: {},
          session: { key: 'iss_a.b', expiresAt: new Date(Date.now() + 3_600_000).toISOString(), user: { email: 'a@example.com', groups: [] } },
        },
      },
    },
    env,
  );
  return env;
}

/** A fake server: counts TokenRequests, issues tokens valid for 5 minutes from `now`. */
function fakeServer(now: () => number) {
  const calls: { options: ClientOptions; destination: string }[] = [];
  const client = (options: ClientOptions): AuthClient => ({
    server: options.server,
    create: async (kind, spec) => {
      expect(kind).toBe('TokenRequest');
      const destination = (spec as { destination: string }).destination;
      calls.push({ options, destination });
      return { token: `token-${calls.length}`, expirationTimestamp: new Date(now() + 300_000).toISOString() } as never;
    },
  });
  return { calls, client };
}

describe('infra tokens', () => {
  it('fetches once, then serves the cached token (0600) until a minute before it expires', async () => {
    const env = home();
    let now = Date.now();
    const clock = () => now;
    const fake = fakeServer(clock);
    const first = await credentialFor('prod', { env, now: clock, client: fake.client });
    expect(first).toMatchObject({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: { token: 'token-1' } });
    expect(fake.calls).toEqual([{ options: { server, trust: {}, bearer: 'iss_a.b' }, destination: 'prod' }]);
    expect(statSync(tokenCachePath('prod', env)).mode & 0o777).toBe(0o600);
    expect(statSync(join(env['INFRA_HOME']!, 'tokens')).mode & 0o777).toBe(0o700);

    now += 200_000; // 100 s left
    expect((await credentialFor('prod', { env, now: clock, client: fake.client })).status.token).toBe('token-1');
    expect(fake.calls).toHaveLength(1);

    now += 50_000; // 50 s left: too close
    expect((await credentialFor('prod', { env, now: clock, client: fake.client })).status.token).toBe('token-2');
    expect(fake.calls).toHaveLength(2);
  });

  it('keeps one cache entry per destination', async () => {
    const env = home();
    const fake = fakeServer(Date.now);
    await credentialFor('prod', { env, client: fake.client });
    await credentialFor('dev', { env, client: fake.client });
    await credentialFor('prod', { env, client: fake.client });
    expect(fake.calls.map((c) => c.destination)).toEqual(['prod', 'dev']);
  });

  it('ignores a token cached for another server', async () => {
    const env = home();
    const fake = fakeServer(Date.now);
    await credentialFor('prod', { env, client: fake.client });
    saveConfig(
      {
        current: 'https://other.example.com',
        servers: {
          'https://other.example.com': {
            trust: {},
            session: { key: 'iss_c.d', expiresAt: new Date(Date.now() + 3_600_000).toISOString(), user: { email: 'a@example.com', groups: [] } },
          },
        },
      },
      env,
    );
    await credentialFor('prod', { env, client: fake.client });
    expect(fake.calls.map((c) => c.options.server)).toEqual([server, 'https://other.example.com']);
  });

  it('says what to do when not logged in, and drops the cache when the server refuses', async () => {
    const env = { INFRA_HOME: testDirectory('infra-cli-tokens-') };
    await expect(credentialFor('prod', { env })).rejects.toThrow(/not logged in: run `infra login/);
    await expect(credentialFor('../etc', { env })).rejects.toThrow(CliError);

    const loggedIn = home();
    const refuse = (): AuthClient => ({ server, create: async () => Promise.reject(new ApiStatusError(401, 'Unauthorized', 'authentication failed')) });
    await expect(credentialFor('prod', { env: loggedIn, client: refuse })).rejects.toThrow(ApiStatusError);
  });

  it('serves a warm cache from a child process with nothing but the entry and the cache module: no network, parser, API types or config writer', async () => {
    // The config names a closed port: any network use would fail the command.
    const env = home('https://127.0.0.1:1');
    const fake = fakeServer(Date.now);
    await credentialFor('prod', { env, client: fake.client });
    const hook = `data:text/javascript,${encodeURIComponent(
      "import { registerHooks } from 'node:module'; const seen = []; registerHooks({ resolve(s, c, next) { const r = next(s, c); seen.push(r.url); return r; } }); process.on('exit', () => process.stderr.write(JSON.stringify(seen)));",
    )}`;
    const { stdout, stderr } = await run(process.execPath, ['--import', hook, join(import.meta.dirname, 'main.ts'), 'tokens', '--destination', 'prod'], {
      env: { ...process.env, ...env },
    });
    expect(JSON.parse(stdout)).toMatchObject({ kind: 'ExecCredential', status: { token: 'token-1' } });
    const loaded = JSON.parse(stderr) as string[];
    expect(
      [...new Set(loaded)]
        .filter((url) => url.startsWith('file:'))
        .map((url) => url.replace(/^.*\/(cli|lib|api)\//, '$1/'))
        .sort(),
    ).toEqual(['api/grants.ts', 'cli/cached-token.ts', 'cli/main.ts', 'cli/paths.ts'].sort());
    expect(readFileSync(tokenCachePath('prod', env), 'utf8')).toContain('token-1');
  });
});
