import { describe, expect, it } from 'vitest';
import { VerifiedTokenCache } from './token-cache.ts';

const identity = (user: string) => ({ user, groups: [] });

function cacheAt(startMs: number, options: { maxEntries?: number } = {}) {
  const clock = { ms: startMs };
  const cache = new VerifiedTokenCache<ReturnType<typeof identity>>({ clockToleranceSec: 30, now: () => clock.ms, ...options });
  return { cache, clock };
}

describe('VerifiedTokenCache', () => {
  it('answers for a token until its exp plus the clock tolerance, as jose would, then forgets it', () => {
    const { cache, clock } = cacheAt(1_000_000_000);
    const exp = 1_000_000 + 300;
    cache.set('t1', 1, exp, identity('alice'));
    expect(cache.get('t1', 1)).toEqual(identity('alice'));
    clock.ms = (exp + 29) * 1000 + 999; // exp > now - 30
    expect(cache.get('t1', 1)).toEqual(identity('alice'));
    clock.ms = (exp + 30) * 1000; // exp <= now - 30: expired
    expect(cache.get('t1', 1)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('misses for a token verified against another version of the key set', () => {
    const { cache } = cacheAt(0);
    cache.set('t1', 1, 300, identity('alice'));
    expect(cache.get('t1', 2)).toBeUndefined();
    expect(cache.get('t1', 1)).toBeUndefined(); // dropped, not kept for the old version
  });

  it('misses for any other token', () => {
    const { cache } = cacheAt(0);
    cache.set('t1', 1, 300, identity('alice'));
    expect(cache.get('t2', 1)).toBeUndefined();
    expect(cache.get('t1 ', 1)).toBeUndefined();
  });

  it('holds at most maxEntries: drops expired entries first, then the oldest', () => {
    const { cache, clock } = cacheAt(0, { maxEntries: 3 });
    cache.set('short', 1, 10, identity('a'));
    cache.set('old', 1, 300, identity('b'));
    cache.set('newer', 1, 300, identity('c'));
    clock.ms = 60_000; // `short` has expired
    cache.set('new', 1, 300, identity('d'));
    expect(cache.size).toBe(3);
    expect(cache.get('short', 1)).toBeUndefined();
    cache.set('newest', 1, 300, identity('e')); // full of live tokens: the first one in goes
    expect(cache.size).toBe(3);
    expect(['old', 'newer', 'new', 'newest'].map((t) => cache.get(t, 1)?.user)).toEqual([undefined, 'c', 'd', 'e']);
  });
});
