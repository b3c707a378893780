import { describe, expect, it } from 'vitest';
import { cachedAtOrPast } from './read-your-writes.ts';

const at = (resourceVersion?: string) => ({ metadata: { name: 'n', ...(resourceVersion === undefined ? {} : { resourceVersion }) } });

describe('cachedAtOrPast', () => {
  it('holds for the written version and any later one, also past 2^53', () => {
    expect(cachedAtOrPast(at('41'), '41')).toBe(true);
    expect(cachedAtOrPast(at('42'), '41')).toBe(true);
    expect(cachedAtOrPast(at('100'), '99')).toBe(true);
    expect(cachedAtOrPast(at('9007199254740993'), '9007199254740992')).toBe(true);
  });

  it('does not hold for an earlier version, a missing object or version', () => {
    expect(cachedAtOrPast(at('40'), '41')).toBe(false);
    expect(cachedAtOrPast(at('99'), '100')).toBe(false);
    expect(cachedAtOrPast(at('9007199254740992'), '9007199254740993')).toBe(false);
    expect(cachedAtOrPast(undefined, '41')).toBe(false);
    expect(cachedAtOrPast(at(), '41')).toBe(false);
    expect(cachedAtOrPast(at('41'), undefined)).toBe(false);
  });

  it('compares versions that are not integers only for equality', () => {
    expect(cachedAtOrPast(at('b'), 'a')).toBe(false);
    expect(cachedAtOrPast(at('abc'), 'abc')).toBe(true);
    expect(cachedAtOrPast(at('012'), '11')).toBe(false);
  });
});
