import { describe, expect, it } from 'vitest';
import { hashPassword, verifyPassword } from './passwords.ts';

describe('passwords', () => {
  it('verifies the right password and no other, with a fresh salt each time', { timeout: 60_000 }, async () => {
    const hash = await hashPassword('correct horse');
    expect(hash).toMatch(/^\$scrypt\$ln=17,r=8,p=1\$/);
    expect(hash).not.toContain('correct horse');
    expect(await verifyPassword('correct horse', hash)).toBe(true);
    expect(await verifyPassword('correct horsE', hash)).toBe(false);
    expect(await hashPassword('correct horse')).not.toBe(hash);
  });

  // CPU time, not wall time, so a busy shared machine does not decide the answer: about
  // 0.3 s, and the bound fails if the cost were raised another step or two.
  it('costs what OWASP asks (N=2^17) and stays acceptable for a login', { timeout: 60_000 }, async () => {
    const before = process.cpuUsage();
    await hashPassword('correct horse');
    const { user, system } = process.cpuUsage(before);
    expect((user + system) / 1000).toBeLessThan(1_500);
  });

  it('still verifies hashes made with the old N=2^15', async () => {
    const { scryptSync } = await import('node:crypto');
    const maxmem = 64 * 1024 * 1024;
    const salt = Buffer.from('0123456789abcdef');
    const old = `$scrypt$ln=15,r=8,p=1$${salt.toString('base64')}$${scryptSync('old secret', salt, 32, { N: 2 ** 15, r: 8, p: 1, maxmem }).toString('base64')}`;
    expect(await verifyPassword('old secret', old)).toBe(true);
    expect(await verifyPassword('new secret', old)).toBe(false);
  });

  it.each([
    ['r=99', '$scrypt$ln=15,r=99,p=1$c2FsdA==$aGFzaA=='],
    ['p=99', '$scrypt$ln=15,r=8,p=99$c2FsdA==$aGFzaA=='],
    ['ln=13', '$scrypt$ln=13,r=8,p=1$c2FsdA==$aGFzaA=='],
    ['r=4', '$scrypt$ln=15,r=4,p=1$c2FsdA==$aGFzaA=='],
    ['more than twice the default cost', '$scrypt$ln=20,r=8,p=1$c2FsdA==$aGFzaA=='],
  ])('refuses stored parameters out of bounds (%s) at once, without deriving', async (_, hash) => {
    const started = performance.now();
    expect(await verifyPassword('x', hash)).toBe(false);
    expect(performance.now() - started).toBeLessThan(50);
  });

  it('rejects unreadable or absurdly expensive hashes instead of throwing', async () => {
    expect(await verifyPassword('x', 'plaintext')).toBe(false);
    expect(await verifyPassword('x', '$scrypt$ln=30,r=8,p=1$c2FsdA==$aGFzaA==')).toBe(false);
  });
});

describe('one-time passwords', () => {
  it('are long enough to be a password, easy to read out, and never repeat', async () => {
    const { oneTimePassword } = await import('./passwords.ts');
    const passwords = Array.from({ length: 50 }, oneTimePassword);
    for (const p of passwords) expect(p).toMatch(/^[a-km-np-z2-9]{5}(-[a-km-np-z2-9]{5}){3}$/);
    expect(new Set(passwords).size).toBe(50);
  });
});
