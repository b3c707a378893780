import { describe, expect, it } from 'vitest';
import { SourceRateLimiter, sourceKey } from './rate-limit.ts';

function limiter(settings = { perSecond: 2, burst: 3 }, maxSources?: number) {
  let now = 1_000_000;
  const limit = new SourceRateLimiter(settings, () => now, maxSources);
  return { limit, advance: (ms: number) => (now += ms) };
}

describe('SourceRateLimiter', () => {
  it('lets a source send its burst at once, then refuses it with how long to wait', () => {
    const { limit } = limiter();
    for (let i = 0; i < 3; i++) expect(limit.take('10.0.0.1')).toEqual({ retryAfterSeconds: 0, firstRefusal: false });
    expect(limit.take('10.0.0.1')).toEqual({ retryAfterSeconds: 1, firstRefusal: true });
    expect(limit.take('10.0.0.1')).toEqual({ retryAfterSeconds: 1, firstRefusal: false });
    expect(limit.take('10.0.0.1', 0)).toEqual({ retryAfterSeconds: 1, firstRefusal: false });
  });

  it('keeps serving other sources while one is refused', () => {
    const { limit } = limiter();
    for (let i = 0; i < 10; i++) limit.take('10.0.0.1');
    expect(limit.take('10.0.0.2').retryAfterSeconds).toBe(0);
    expect(limit.take('10.0.0.3', 0).retryAfterSeconds).toBe(0);
  });

  it('refills at the configured rate, never above the burst', () => {
    const { limit, advance } = limiter();
    for (let i = 0; i < 3; i++) limit.take('10.0.0.1');
    advance(500); // one token back at 2 per second
    expect(limit.take('10.0.0.1').retryAfterSeconds).toBe(0);
    expect(limit.take('10.0.0.1').retryAfterSeconds).toBe(1);
    advance(60_000);
    for (let i = 0; i < 3; i++) expect(limit.take('10.0.0.1').retryAfterSeconds).toBe(0);
    expect(limit.take('10.0.0.1').retryAfterSeconds).toBe(1);
  });

  it('says the whole wait for a slow rate', () => {
    const { limit } = limiter({ perSecond: 0.1, burst: 1 });
    limit.take('10.0.0.1');
    expect(limit.take('10.0.0.1').retryAfterSeconds).toBe(10);
  });

  it('does not spend when only asked (cost 0), nor remember a source it has not limited', () => {
    const { limit } = limiter({ perSecond: 1, burst: 1 });
    expect(limit.take('10.0.0.1', 0).retryAfterSeconds).toBe(0);
    expect(limit.size).toBe(0);
    expect(limit.take('10.0.0.1').retryAfterSeconds).toBe(0);
    expect(limit.take('10.0.0.1', 0)).toEqual({ retryAfterSeconds: 1, firstRefusal: true });
  });

  it('remembers a bounded number of sources, forgetting those with the most tokens left first', () => {
    const { limit, advance } = limiter({ perSecond: 1, burst: 2 }, 3);
    limit.take('10.0.0.1');
    limit.take('10.0.0.1');
    limit.take('10.0.0.1'); // refused: the one source worth remembering
    advance(500);
    for (const other of ['10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5']) limit.take(other);
    expect(limit.size).toBeLessThanOrEqual(3);
    expect(limit.take('10.0.0.1', 0).retryAfterSeconds).toBe(1);
  });
});

describe('sourceKey', () => {
  it('is the IPv4 address, also when IPv4-mapped', () => {
    expect(sourceKey('127.0.0.2')).toBe('127.0.0.2');
    expect(sourceKey('::ffff:192.0.2.7')).toBe('192.0.2.7');
  });

  it("is an IPv6 address's /64, however the address is written", () => {
    expect(sourceKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(sourceKey('2001:0db8:0001:0002:bbbb:cccc:dddd:eeee')).toBe('2001:db8:1:2::/64');
    expect(sourceKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(sourceKey('::1')).toBe('0:0:0:0::/64');
    expect(sourceKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
  });
});
