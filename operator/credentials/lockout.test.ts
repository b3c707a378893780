import { describe, expect, it } from 'vitest';
import { LoginThrottle } from './lockout.ts';

const minute = 60_000;
const policy = { maxFailures: 3, maxFailuresPerAddress: 5, lockoutMs: 15 * minute };

describe('password attempt limits', () => {
  it('locks an email after maxFailures within the window, until the lock ends', () => {
    const throttle = new LoginThrottle(policy);
    const t0 = 1_000_000;
    expect(throttle.fail('Carl@example.com', '10.0.0.1', t0)).toBeUndefined();
    expect(throttle.fail('carl@example.com', '10.0.0.2', t0 + 1)).toBeUndefined();
    expect(throttle.fail('carl@example.com ', '10.0.0.3', t0 + 2)).toEqual({ key: 'email', until: new Date(t0 + 2 + 15 * minute) });
    expect(throttle.locked('CARL@example.com', '10.0.0.9', t0 + 14 * minute)).toMatchObject({ key: 'email' });
    expect(throttle.locked('carl@example.com', '10.0.0.9', t0 + 16 * minute)).toBeUndefined();
    // The lock started afresh: failures before it do not count again.
    expect(throttle.fail('carl@example.com', '10.0.0.9', t0 + 16 * minute)).toBeUndefined();
  });

  it('forgets failures older than the window, and a right password clears the email', () => {
    const throttle = new LoginThrottle(policy);
    throttle.fail('a@example.com', undefined, 0);
    throttle.fail('a@example.com', undefined, 1);
    expect(throttle.fail('a@example.com', undefined, 16 * minute)).toBeUndefined();
    throttle.succeed('a@example.com');
    expect(throttle.fail('a@example.com', undefined, 16 * minute + 1)).toBeUndefined();
    expect(throttle.fail('a@example.com', undefined, 16 * minute + 2)).toBeUndefined();
  });

  it('locks a client address guessing at many emails, but not the emails elsewhere', () => {
    const throttle = new LoginThrottle(policy);
    const locks = ['a', 'b', 'c', 'd', 'e'].map((u) => throttle.fail(`${u}@example.com`, '192.0.2.7', 0));
    expect(locks.slice(0, 4)).toEqual([undefined, undefined, undefined, undefined]);
    expect(locks[4]).toMatchObject({ key: 'address' });
    expect(throttle.locked('z@example.com', '192.0.2.7', 1)).toMatchObject({ key: 'address' });
    expect(throttle.locked('a@example.com', '198.51.100.1', 1)).toBeUndefined();
  });

  it("a right password clears the email's failures, not the address's: one good account does not hide guessing at others", () => {
    const throttle = new LoginThrottle(policy);
    for (const u of ['a', 'b', 'c', 'd']) throttle.fail(`${u}@example.com`, '192.0.2.7', 0);
    throttle.succeed('mallory@example.com');
    expect(throttle.fail('e@example.com', '192.0.2.7', 1)).toMatchObject({ key: 'address' });
  });

  it('failures during a lock do not extend it', () => {
    const throttle = new LoginThrottle(policy);
    for (const t of [0, 1, 2]) throttle.fail('a@example.com', undefined, t);
    const until = throttle.locked('a@example.com', undefined, 3)!.until;
    expect(throttle.fail('a@example.com', undefined, 10 * minute)).toBeUndefined();
    expect(throttle.fail('a@example.com', undefined, 11 * minute)).toBeUndefined();
    expect(throttle.fail('a@example.com', undefined, 12 * minute)).toBeUndefined();
    expect(throttle.locked('a@example.com', undefined, 12 * minute)!.until).toEqual(until);
    expect(throttle.locked('a@example.com', undefined, until.getTime())).toBeUndefined();
  });

  it('keeps at most 100,000 keys, forgetting the least recently failed first', () => {
    const throttle = new LoginThrottle(policy);
    throttle.fail('old@example.com', undefined, 0);
    throttle.fail('stale@example.com', undefined, 0);
    throttle.fail('stale@example.com', undefined, 0);
    throttle.fail('old@example.com', undefined, 0); // now the more recently failed of the two
    for (let i = 0; i < 99_999; i++) throttle.fail(`spray${i}@example.com`, undefined, 0);
    // 100,001 keys: the least recently failed one, stale@, went. old@ was kept: this is its third failure.
    expect(throttle.fail('old@example.com', undefined, 1)).toMatchObject({ key: 'email' });
    // stale@ was forgotten: this is its first failure again, not its third.
    expect(throttle.fail('stale@example.com', undefined, 1)).toBeUndefined();
  });
});
