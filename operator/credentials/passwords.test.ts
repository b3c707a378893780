import { describe, expect, it } from 'vitest';
import { hashPassword, verifyPassword } from './passwords.ts';

describe('passwords', () => {
  it('verifies the right password and no other, with a fresh salt each time', async () => {
    const hash = await hashPassword('correct horse');
    expect(hash).toMatch(/^\$scrypt\$ln=15,r=8,p=1\$/);
    expect(hash).not.toContain('correct horse');
    expect(await verifyPassword('correct horse', hash)).toBe(true);
    expect(await verifyPassword('correct horsE', hash)).toBe(false);
    expect(await hashPassword('correct horse')).not.toBe(hash);
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
