import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { aesGcmSealer } from './sealing.ts';

describe('sealing upstream sessions', () => {
  const sealer = aesGcmSealer(randomBytes(32));

  it('round-trips, with a fresh IV each time, and never shows the plaintext', async () => {
    const a = await sealer.seal('refresh-token-value', 'infra-session-abc');
    const b = await sealer.seal('refresh-token-value', 'infra-session-abc');
    expect(a.equals(b)).toBe(false);
    expect(a.toString('latin1')).not.toContain('refresh-token-value');
    expect(await sealer.open(a, 'infra-session-abc')).toBe('refresh-token-value');
  });

  it('refuses a value moved to another session, tampered with, or sealed with another key', async () => {
    const sealed = await sealer.seal('refresh-token-value', 'infra-session-abc');
    await expect(sealer.open(sealed, 'infra-session-xyz')).rejects.toThrow();
    const tampered = Buffer.from(sealed);
    tampered[tampered.length - 1]! ^= 1;
    await expect(sealer.open(tampered, 'infra-session-abc')).rejects.toThrow();
    await expect(aesGcmSealer(randomBytes(32)).open(sealed, 'infra-session-abc')).rejects.toThrow();
    expect(() => aesGcmSealer(randomBytes(16))).toThrow(/32 bytes/);
  });
});
