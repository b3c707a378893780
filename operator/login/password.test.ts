// Password checks against their attempt limits, with the real scrypt and throttle: what
// the lockout must hold when attempts arrive at once rather than one after another.
import { scryptSync } from 'node:crypto';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { fakeHub, user } from '../../test/fake-hub.ts';
import { LoginThrottle } from '../credentials/lockout.ts';
import type { LoginDeps } from './deps.ts';
import { checkPassword } from './password.ts';

// A cheap (N=2^14, the least accepted) hash keeps ten concurrent checks light.
const salt = Buffer.from('0123456789abcdef');
const hash = `$scrypt$ln=14,r=8,p=1$${salt.toString('base64')}$${scryptSync('right', salt, 32, { N: 2 ** 14, r: 8, p: 1, maxmem: 64 << 20 }).toString('base64')}`;
const carl = { ...user('carl', 'carl@example.com'), spec: { email: 'carl@example.com', passwordSecretRef: { name: 'carl-password', key: 'hash' } } };

function deps(maxFailures: number): LoginDeps {
  const silent = pino({ level: 'silent' });
  return {
    hub: fakeHub({ users: [carl] }).hub,
    readSecret: async () => hash,
    throttle: new LoginThrottle({ maxFailures, maxFailuresPerAddress: 100, lockoutMs: 15 * 60_000 }),
    audit: silent,
    events: { record: () => undefined },
  } as unknown as LoginDeps;
}

describe('checkPassword', () => {
  it('lets no more than the limit of wrong passwords sent at once be checked', async () => {
    const login = deps(3);
    const attempts = await Promise.allSettled(Array.from({ length: 10 }, () => checkPassword(login, 'carl@example.com', 'wrong', '192.0.2.1')));
    const checked = attempts.filter((a) => a.status === 'fulfilled');
    const refused = attempts.filter((a) => a.status === 'rejected');
    expect(checked).toHaveLength(3);
    expect(refused).toHaveLength(7);
    for (const r of refused) expect(r.reason).toMatchObject({ code: 429 });
    // The three failures locked the email: even the right password waits.
    await expect(checkPassword(login, 'carl@example.com', 'right', '192.0.2.1')).rejects.toMatchObject({ code: 429 });
  });

  it('accepts the right password, and a right password frees its reservation', async () => {
    const login = deps(2);
    for (let i = 0; i < 5; i++) expect(await checkPassword(login, 'carl@example.com', 'right', '192.0.2.1')).toMatchObject({ metadata: { name: 'carl' } });
    expect(await checkPassword(login, 'carl@example.com', 'wrong', '192.0.2.1')).toBeUndefined();
  });
});
