import { calculateJwkThumbprint } from 'jose';
import { describe, expect, it } from 'vitest';
import { parseKeySet, rotate, serializeKeySet } from './keyset.ts';
import { type SigningKey, publicJwks, generateSigningKey, currentKey } from '../../api/tokens.ts';

const minute = 60_000;
const hour = 60 * minute;
const t0 = new Date('2030-01-01T00:00:00Z');
const at = (ms: number) => new Date(t0.getTime() + ms);
const policy = { rotationIntervalMs: 24 * hour, maxTokenLifetimeMs: 10 * minute };
// The default clock-skew allowance: a retired key stays maxTokenLifetime + 1 minute.
const keepRetiredMs = policy.maxTokenLifetimeMs + minute;

describe('generateSigningKey', () => {
  it('makes an ES256 P-256 key whose kid is its RFC 7638 thumbprint', async () => {
    const key = await generateSigningKey(t0);
    expect(key.alg).toBe('ES256');
    expect(key.publicJwk).toEqual({ kty: 'EC', crv: 'P-256', x: expect.any(String), y: expect.any(String) });
    expect(key.privateJwk.d).toEqual(expect.any(String));
    expect(key.kid).toBe(await calculateJwkThumbprint(key.publicJwk, 'sha256'));
    expect(key.kid).toBe(await calculateJwkThumbprint(key.privateJwk, 'sha256')); // thumbprints ignore d
    expect(key.createdAt).toBe(t0.toISOString());
    expect(key.retiredAt).toBeUndefined();
  });

  it('makes a different key each time', async () => {
    const [a, b] = await Promise.all([generateSigningKey(t0), generateSigningKey(t0)]);
    expect(a.kid).not.toBe(b.kid);
  });
});

describe('rotate', () => {
  it('creates the first key for an empty set', async () => {
    const { keys, changed } = await rotate([], { now: t0, ...policy });
    expect(changed).toBe(true);
    expect(keys).toHaveLength(1);
    expect(currentKey(keys)?.createdAt).toBe(t0.toISOString());
  });

  it('keeps the current key until the rotation interval has passed', async () => {
    const { keys: initial } = await rotate([], { now: t0, ...policy });
    for (const elapsed of [0, minute, 23 * hour, policy.rotationIntervalMs - 1]) {
      const { keys, changed } = await rotate(initial, { now: at(elapsed), ...policy });
      expect(changed).toBe(false);
      expect(keys).toEqual(initial);
    }
  });

  it('retires the current key after the interval, keeps it until its tokens expired, then drops it', async () => {
    const { keys: initial } = await rotate([], { now: t0, ...policy });
    const first = initial[0]!;

    const rotatedAt = policy.rotationIntervalMs;
    const rotated = await rotate(initial, { now: at(rotatedAt), ...policy });
    expect(rotated.changed).toBe(true);
    expect(rotated.keys).toHaveLength(2);
    const second = currentKey(rotated.keys)!;
    expect(second.kid).not.toBe(first.kid);
    expect(second.createdAt).toBe(at(rotatedAt).toISOString());
    const retired = rotated.keys.find((key) => key.kid === first.kid)!;
    // Everything about the old key stays the same except its retirement time: kid stable.
    expect(retired).toEqual({ ...first, retiredAt: at(rotatedAt).toISOString() });

    // A token signed just before retirement lives until rotatedAt + maxTokenLifetime: the old key stays through that.
    for (const elapsed of [1, policy.maxTokenLifetimeMs, keepRetiredMs - 1]) {
      const { keys, changed } = await rotate(rotated.keys, { now: at(rotatedAt + elapsed), ...policy });
      expect(changed).toBe(false);
      expect(keys.map((key) => key.kid)).toEqual([first.kid, second.kid]);
      expect(publicJwks(keys).keys.map((key) => key.kid)).toContain(first.kid);
    }

    const dropped = await rotate(rotated.keys, { now: at(rotatedAt + keepRetiredMs), ...policy });
    expect(dropped.changed).toBe(true);
    expect(dropped.keys).toEqual([second]);
  });

  it('follows the schedule over several intervals without accumulating keys', async () => {
    let { keys } = await rotate([], { now: t0, ...policy });
    const seen = new Set<string>();
    for (let elapsed = 0; elapsed <= 5 * policy.rotationIntervalMs; elapsed += 5 * minute) {
      ({ keys } = await rotate(keys, { now: at(elapsed), ...policy }));
      expect(keys.filter((key) => key.retiredAt === undefined)).toHaveLength(1);
      expect(keys.length).toBeLessThanOrEqual(2);
      seen.add(currentKey(keys)!.kid);
    }
    expect(seen.size).toBe(6); // the first key and one per interval
  });

  it('honours a custom clock-skew allowance', async () => {
    const { keys: initial } = await rotate([], { now: t0, ...policy });
    const { keys: rotated } = await rotate(initial, { now: at(policy.rotationIntervalMs), ...policy });
    const options = { ...policy, clockSkewMs: 0 };
    expect((await rotate(rotated, { now: at(policy.rotationIntervalMs + policy.maxTokenLifetimeMs - 1), ...options })).changed).toBe(false);
    expect((await rotate(rotated, { now: at(policy.rotationIntervalMs + policy.maxTokenLifetimeMs), ...options })).keys).toHaveLength(1);
  });

  it('retires a stray second unretired key and keeps the newest as current', async () => {
    const older = await generateSigningKey(t0);
    const newer = await generateSigningKey(at(minute));
    const { keys, changed } = await rotate([newer, older], { now: at(2 * minute), ...policy });
    expect(changed).toBe(true);
    expect(currentKey(keys)?.kid).toBe(newer.kid);
    expect(keys.find((key) => key.kid === older.kid)?.retiredAt).toBe(at(2 * minute).toISOString());
  });

  it('adds a current key when every key is retired', async () => {
    const key: SigningKey = { ...(await generateSigningKey(t0)), retiredAt: at(minute).toISOString() };
    const { keys, changed } = await rotate([key], { now: at(2 * minute), ...policy });
    expect(changed).toBe(true);
    expect(keys).toHaveLength(2);
    expect(currentKey(keys)?.kid).not.toBe(key.kid);
  });

  it('does not modify its input', async () => {
    const { keys: initial } = await rotate([], { now: t0, ...policy });
    const snapshot = structuredClone(initial);
    await rotate(Object.freeze(initial), { now: at(policy.rotationIntervalMs), ...policy });
    expect(initial).toEqual(snapshot);
  });
});

describe('publicJwks', () => {
  it('serves only public members, with kid, alg and use, newest first', async () => {
    const { keys: initial } = await rotate([], { now: t0, ...policy });
    const { keys } = await rotate(initial, { now: at(policy.rotationIntervalMs), ...policy });
    const jwks = publicJwks(keys);
    expect(jwks.keys).toHaveLength(2);
    expect(jwks.keys[0]!.kid).toBe(currentKey(keys)!.kid);
    for (const jwk of jwks.keys) {
      expect(Object.keys(jwk).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']);
      expect(jwk).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
      expect(jwk).not.toHaveProperty('d');
    }
    expect(JSON.stringify(jwks)).not.toMatch(/"d"/);
    for (const key of keys) expect(JSON.stringify(jwks)).not.toContain(key.privateJwk.d!);
  });

  it('never copies a private member even from a key whose publicJwk carries one', async () => {
    const key = await generateSigningKey(t0);
    const leaky: SigningKey = { ...key, publicJwk: { ...key.privateJwk } };
    expect(publicJwks([leaky]).keys[0]).not.toHaveProperty('d');
  });
});

describe('serializeKeySet / parseKeySet', () => {
  it('round-trips a key set', async () => {
    const { keys: initial } = await rotate([], { now: t0, ...policy });
    const { keys } = await rotate(initial, { now: at(policy.rotationIntervalMs), ...policy });
    expect(parseKeySet(serializeKeySet(keys))).toEqual(keys);
  });

  it('rejects malformed data without echoing key material', async () => {
    const key = await generateSigningKey(t0);
    const bad = JSON.stringify({ keys: [{ ...key, alg: 'HS256' }] });
    expect(() => parseKeySet(bad)).toThrow(/keys\.0\.alg/);
    try {
      parseKeySet(bad);
    } catch (err) {
      expect((err as Error).message).not.toContain(key.privateJwk.d!);
    }
    expect(() => parseKeySet('{')).toThrow('not valid JSON');
    expect(() => parseKeySet(JSON.stringify({ keys: [{ ...key, publicJwk: key.privateJwk }] }))).toThrow(/publicJwk/);
  });
});
