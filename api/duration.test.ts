import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from './duration.ts';

describe('parseDuration', () => {
  it.each([
    ['90s', 90_000],
    ['5m', 300_000],
    ['1h30m', 5_400_000],
    ['7d', 604_800_000],
    ['250ms', 250],
  ])('%s is %d ms', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(['', '5', 'm', '5 m', '-5m', '1y', '5mm'])('rejects %j', (text) => expect(parseDuration(text)).toBeUndefined());

  it('formats back to the largest whole unit', () => {
    expect([300_000, 5_400_000, 86_400_000, 1500].map(formatDuration)).toEqual(['5m', '90m', '1d', '1500ms']);
  });
});
