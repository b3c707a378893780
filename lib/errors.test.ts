import { describe, expect, it } from 'vitest';
import { errorChain } from './errors.ts';

describe('errorChain', () => {
  it('says what caused an error, and what caused that, with their codes', () => {
    const socket = Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' });
    const fetchFailed = new TypeError('fetch failed', { cause: socket });
    expect(errorChain(new Error('scrape failed', { cause: fetchFailed }))).toBe('scrape failed: fetch failed: other side closed (UND_ERR_SOCKET)');
  });

  it('takes anything thrown, and stops on a chain that comes back to itself', () => {
    expect(errorChain('plain words')).toBe('plain words');
    const loop: Error & { cause?: unknown } = new Error('again');
    loop.cause = loop;
    expect(errorChain(loop)).toBe(Array(8).fill('again').join(': '));
  });
});
