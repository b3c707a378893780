// PasswordChange against the attempt limits it shares with logins: attempts sent at once
// count before their slow checks end, as they do for Login (login/password.test.ts).
import { scryptSync } from 'node:crypto';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { fakeHub, user } from '../../test/fake-hub.ts';
import { LoginThrottle } from '../credentials/lockout.ts';
import type { AuthAPIDeps } from './deps.ts';
import { passwordChange } from './passwords.ts';

// A cheap (N=2^14, the least accepted) hash keeps ten concurrent checks light.
const salt = Buffer.from('0123456789abcdef');
const hash = `$scrypt$ln=14,r=8,p=1$${salt.toString('base64')}$${scryptSync('right', salt, 32, { N: 2 ** 14, r: 8, p: 1, maxmem: 64 << 20 }).toString('base64')}`;
const carl = { ...user('carl', 'carl@example.com'), spec: { email: 'carl@example.com', passwordSecretRef: { name: 'carl-password', key: 'hash' } } };
const caller = { identity: { email: 'carl@example.com', groups: [] } };

describe('passwordChange', () => {
  it('lets no more than the limit of wrong current passwords sent at once be checked', async () => {
    const deps = {
      hub: fakeHub({ users: [carl] }).hub,
      readSecret: async () => hash,
      throttle: new LoginThrottle({ maxFailures: 3, maxFailuresPerAddress: 100, lockoutMs: 15 * 60_000 }),
      audit: pino({ level: 'silent' }),
      events: { record: () => undefined },
    } as unknown as AuthAPIDeps;
    const attempts = await Promise.allSettled(
      Array.from({ length: 10 }, () => passwordChange(deps, { currentPassword: 'wrong', newPassword: 'a new password of length' }, caller, '192.0.2.1')),
    );
    const codes = attempts.map((a) => (a.status === 'rejected' ? (a.reason as { code: number }).code : 201));
    expect(codes.filter((c) => c === 403)).toHaveLength(3);
    expect(codes.filter((c) => c === 429)).toHaveLength(7);
  });
});
