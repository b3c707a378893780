import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { testDirectory } from '../test/temporary.ts';
import { refreshBeforeMs, warmCredentialLine } from './cached-token.ts';

const server = 'https://infra.example.com';
const now = Date.parse('2026-12-03T12:00:00Z');
const expiresAt = new Date(now + 5 * 60_000).toISOString();

/** An INFRA_HOME whose config.json is `config` (text as is) and whose token cache holds `cached` for prod. */
function home(config: unknown, cached: unknown = { server, destination: 'prod', token: 'tok', expirationTimestamp: expiresAt }): NodeJS.ProcessEnv {
  const dir = testDirectory('infra-cli-cached-token-');
  writeFileSync(join(dir, 'config.json'), typeof config === 'string' ? config : JSON.stringify(config));
  mkdirSync(join(dir, 'tokens'));
  writeFileSync(join(dir, 'tokens', 'prod.json'), JSON.stringify(cached));
  return { INFRA_HOME: dir };
}

const loggedIn = { current: server, servers: { [server]: { trust: {} } } };

describe("infra tokens' warm path", () => {
  it('prints the ExecCredential line of a usable cached token, for each form of the argument', () => {
    const line = `${JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: { token: 'tok', expirationTimestamp: expiresAt } })}\n`;
    for (const args of [['--destination', 'prod'], ['--destination=prod'], ['-d', 'prod']]) expect(warmCredentialLine(args, home(loggedIn), now)).toBe(line);
  });

  it('leaves to the full program every case it does not serve, so that one says what is wrong', () => {
    const cases: [string, string[], NodeJS.ProcessEnv, number][] = [
      ['within a minute of expiry', ['-d', 'prod'], home(loggedIn), Date.parse(expiresAt) - refreshBeforeMs],
      ['for another server', ['-d', 'prod'], home({ ...loggedIn, current: 'https://other.example.com' }), now],
      ['for another destination', ['-d', 'prod'], home(loggedIn, { server, destination: 'dev', token: 'tok', expirationTimestamp: expiresAt }), now],
      ['not logged in', ['-d', 'prod'], home({ servers: {} }), now],
      ['a damaged config', ['-d', 'prod'], home('{'), now],
      ['a damaged cache', ['-d', 'prod'], home(loggedIn, 'not json'), now],
      ['no cached token', ['-d', 'dev'], home(loggedIn), now],
      ['a destination that is no DNS label', ['-d', '../prod'], home(loggedIn), now],
      ['no destination', [], home(loggedIn), now],
      ['another argument', ['-d', 'prod', '--verbose'], home(loggedIn), now],
      ['--help', ['--help'], home(loggedIn), now],
    ];
    for (const [name, args, env, at] of cases) expect(warmCredentialLine(args, env, at), name).toBeUndefined();
  });
});
