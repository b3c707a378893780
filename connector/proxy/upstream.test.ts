import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { reusedFor } from './upstream.ts';

describe('reusedFor', () => {
  beforeEach(() => vi.useFakeTimers({ toFake: ['performance'] }));
  afterEach(() => vi.useRealTimers());

  it('reads once for every call within the interval, in flight or answered, and again after it', async () => {
    let reads = 0;
    const token = reusedFor(10_000, () => Promise.resolve(`token-${++reads}`));
    expect(await Promise.all([token(), token()])).toEqual(['token-1', 'token-1']);
    vi.advanceTimersByTime(9_999);
    expect(await token()).toBe('token-1');
    vi.advanceTimersByTime(1);
    expect(await token()).toBe('token-2');
    expect(reads).toBe(2);
  });

  it('keeps no failed read: the next call reads again', async () => {
    let reads = 0;
    const token = reusedFor(10_000, () => (++reads === 1 ? Promise.reject(new Error('no token yet')) : Promise.resolve('token')));
    await expect(token()).rejects.toThrow('no token yet');
    expect(await token()).toBe('token');
    expect(reads).toBe(2);
  });
});
