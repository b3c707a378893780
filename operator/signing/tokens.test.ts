import { createHmac, createPublicKey, verify } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, exportSPKI, importJWK, SignJWT, type CryptoKey } from 'jose';
import { describe, expect, it } from 'vitest';
import { rotate } from './keyset.ts';
import { maxTokenLifetimeMs } from '../../api/token-lifetime.ts';
import { type SigningKey, publicJwks, generateSigningKey, currentKey, issueToken, verifyToken } from '../../api/tokens.ts';

const minute = 60_000;
const t0 = new Date('2030-01-01T00:00:00Z');
const at = (ms: number) => new Date(t0.getTime() + ms);
const issuer = 'https://infra.example.com';
const audience = 'production';
const subject = 'carl@example.com';
const groups = ['WebDev', 'Everyone'];
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

async function freshKeys() {
  return (await rotate([], { now: t0, rotationIntervalMs: 24 * 60 * minute, maxTokenLifetimeMs })).keys;
}

describe('issueToken', () => {
  it('signs the claims with the current key', async () => {
    const keys = await freshKeys();
    const { token, expiresAt } = await issueToken({ keys, issuer, audience, subject, groups, now: at(1234) });

    expect(decodeProtectedHeader(token)).toEqual({ alg: 'ES256', kid: currentKey(keys)!.kid, typ: 'JWT' });
    const claims = decodeJwt(token);
    const iat = Math.floor(at(1234).getTime() / 1000);
    expect(claims).toEqual({ iss: issuer, aud: audience, sub: subject, groups, iat, nbf: iat, exp: iat + 300, jti: expect.any(String) });
    expect(claims.jti).toMatch(/^[A-Za-z0-9_-]{22}$/); // 128 random bits, base64url
    expect(expiresAt).toEqual(new Date((iat + 300) * 1000));

    const verified = await verifyToken(token, { jwks: publicJwks(keys), issuer, audience, now: at(2000) });
    expect(verified).toEqual({ subject, groups, issuedAt: new Date(iat * 1000), expiresAt, jti: claims.jti, kid: currentKey(keys)!.kid });
  });

  it("writes the header and claims byte for byte as jose's SignJWT does, and a signature jose verifies", async () => {
    const keys = await freshKeys();
    const key = currentKey(keys)!;
    const { token } = await issueToken({ keys, issuer, audience, subject, groups, now: at(1234) });
    const iat = Math.floor(at(1234).getTime() / 1000);
    const byJose = await new SignJWT({ groups })
      .setProtectedHeader({ alg: 'ES256', kid: key.kid, typ: 'JWT' })
      .setIssuer(issuer)
      .setAudience(audience)
      .setSubject(subject)
      .setIssuedAt(iat)
      .setNotBefore(iat)
      .setExpirationTime(iat + 300)
      .setJti(String(decodeJwt(token).jti))
      .sign(await importJWK(key.privateJwk, 'ES256'));
    const signingInput = (jws: string) => jws.split('.').slice(0, 2).join('.');
    expect(signingInput(token)).toBe(signingInput(byJose));
    expect(Buffer.from(token.split('.')[2]!, 'base64url')).toHaveLength(64); // r ‖ s, not DER
    await expect(verifyToken(token, { jwks: publicJwks(keys), issuer, audience, now: at(2000) })).resolves.toMatchObject({ subject });
  });

  it('writes every signature as 32-byte r and s, also when DER gave one of them in fewer bytes or with a sign byte', async () => {
    const keys = await freshKeys();
    const publicKey = createPublicKey({ key: currentKey(keys)!.publicJwk, format: 'jwk' });
    // Among 1,000 signatures three in four have an r or s with its high bit set (DER adds a
    // zero byte) and ~8 one that DER writes in 31 bytes or fewer.
    for (let i = 0; i < 1000; i++) {
      const { token } = await issueToken({ keys, issuer, audience, subject, groups, now: t0 });
      const [header, payload, signature] = token.split('.') as [string, string, string];
      const rs = Buffer.from(signature, 'base64url');
      expect(rs).toHaveLength(64);
      expect(verify('sha256', Buffer.from(`${header}.${payload}`), { key: publicKey, dsaEncoding: 'ieee-p1363' }, rs)).toBe(true);
    }
  });

  it('signs on the calling thread: the token is ready before the event loop turns', async () => {
    const keys = await freshKeys();
    let issued: string | undefined;
    const signing = issueToken({ keys, issuer, audience, subject, groups, now: t0 }).then(({ token }) => (issued = token));
    // Microtasks only: a signature on libuv's thread pool could come back no sooner than the next turn.
    for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => queueMicrotask(resolve));
    expect(issued).toBeDefined();
    await signing;
  });

  it('gives every token its own jti', async () => {
    const keys = await freshKeys();
    const tokens = await Promise.all(Array.from({ length: 20 }, () => issueToken({ keys, issuer, audience, subject, groups, now: t0 })));
    expect(new Set(tokens.map(({ token }) => decodeJwt(token).jti)).size).toBe(20);
  });

  it('accepts a signing key instead of a key set', async () => {
    const keys = await freshKeys();
    const { token } = await issueToken({ keys: currentKey(keys)!, issuer, audience, subject, groups, now: t0 });
    expect(decodeProtectedHeader(token).kid).toBe(keys[0]!.kid);
  });

  it('honours a lifetime up to 10 minutes and refuses a longer one', async () => {
    const keys = await freshKeys();
    const { token, expiresAt } = await issueToken({ keys, issuer, audience, subject, groups, lifetimeMs: 10 * minute, now: t0 });
    expect(expiresAt).toEqual(at(10 * minute));
    expect(decodeJwt(token).exp).toBe(at(10 * minute).getTime() / 1000);
    await expect(issueToken({ keys, issuer, audience, subject, groups, lifetimeMs: 10 * minute + 1, now: t0 })).rejects.toThrow(/10m or less/);
    await expect(issueToken({ keys, issuer, audience, subject, groups, lifetimeMs: 0, now: t0 })).rejects.toThrow(RangeError);
  });

  it('refuses a key set with no current key', async () => {
    const key: SigningKey = { ...(await generateSigningKey(t0)), retiredAt: t0.toISOString() };
    await expect(issueToken({ keys: [key], issuer, audience, subject, groups })).rejects.toThrow('no current signing key');
  });
});

describe('verifyToken across a rotation', () => {
  it('verifies a token signed before a rotation until it expires, and fails once its key is dropped', async () => {
    const policy = { rotationIntervalMs: 60 * minute, maxTokenLifetimeMs };
    const before = (await rotate([], { now: t0, ...policy })).keys;
    // Signed with the old key one second before rotation, living the maximum 10 minutes.
    const signedAt = at(policy.rotationIntervalMs - 1000);
    const { token } = await issueToken({ keys: before, issuer, audience, subject, groups, lifetimeMs: maxTokenLifetimeMs, now: signedAt });

    const rotatedAt = at(policy.rotationIntervalMs);
    const after = (await rotate(before, { now: rotatedAt, ...policy })).keys;
    expect(currentKey(after)!.kid).not.toBe(currentKey(before)!.kid);
    // New tokens come from the new key and verify with the same JWKS.
    const fresh = await issueToken({ keys: after, issuer, audience, subject, groups, now: rotatedAt });
    await expect(verifyToken(fresh.token, { jwks: publicJwks(after), issuer, audience, now: rotatedAt })).resolves.toMatchObject({
      kid: currentKey(after)!.kid,
    });

    // The old token still verifies with the post-rotation JWKS, right up to its expiry.
    const lastValid = new Date(signedAt.getTime() + maxTokenLifetimeMs - 1000);
    for (const now of [rotatedAt, lastValid]) {
      const { keys } = await rotate(after, { now, ...policy });
      await expect(verifyToken(token, { jwks: publicJwks(keys), issuer, audience, now })).resolves.toMatchObject({ subject });
    }

    // Once every token the old key signed has expired, the key is dropped; with that JWKS the token fails
    // for want of a key, even checked at a time when it had not yet expired.
    const droppedAt = new Date(rotatedAt.getTime() + maxTokenLifetimeMs + minute);
    const dropped = await rotate(after, { now: droppedAt, ...policy });
    expect(dropped.changed).toBe(true);
    expect(publicJwks(dropped.keys).keys.map((key) => key.kid)).toEqual([currentKey(after)!.kid]);
    await expect(verifyToken(token, { jwks: publicJwks(dropped.keys), issuer, audience, now: signedAt })).rejects.toThrow(/no applicable key/i);
    await expect(verifyToken(token, { jwks: publicJwks(dropped.keys), issuer, audience, now: droppedAt })).rejects.toThrow();
  });
});

describe('verifyToken rejects', () => {
  async function setup() {
    const keys = await freshKeys();
    const jwks = publicJwks(keys);
    const { token } = await issueToken({ keys, issuer, audience, subject, groups, now: t0 });
    const privateKey = (await importJWK(currentKey(keys)!.privateJwk, 'ES256')) as CryptoKey;
    return { keys, jwks, token, privateKey };
  }
  const claims = (now: Date) => {
    const iat = Math.floor(now.getTime() / 1000);
    return { iss: issuer, aud: audience, sub: subject, groups, iat, nbf: iat, exp: iat + 300, jti: 'abcdefghijklmnopqrstuv' };
  };

  it('a token for another audience', async () => {
    const { jwks, token } = await setup();
    await expect(verifyToken(token, { jwks, issuer, audience: 'staging', now: t0 })).rejects.toThrow(/aud/);
  });

  it('a token from another issuer', async () => {
    const { jwks, token } = await setup();
    await expect(verifyToken(token, { jwks, issuer: 'https://evil.example.com', now: t0, audience })).rejects.toThrow(/iss/);
  });

  it('an expired token, and one not yet valid', async () => {
    const { jwks, token } = await setup();
    await expect(verifyToken(token, { jwks, issuer, audience, now: at(5 * minute) })).rejects.toThrow(/exp/);
    await expect(verifyToken(token, { jwks, issuer, audience, now: at(-5000) })).rejects.toThrow(/nbf/);
    await expect(verifyToken(token, { jwks, issuer, audience, now: at(5 * minute + 5000), clockToleranceSec: 10 })).resolves.toBeDefined();
  });

  it('an expired token, checked against the real clock', async () => {
    const keys = await freshKeys();
    const past = await issueToken({ keys, issuer, audience, subject, groups, now: new Date(Date.now() - 6 * minute) });
    await expect(verifyToken(past.token, { jwks: publicJwks(keys), issuer, audience })).rejects.toThrow(/exp/);
  });

  it('an unsigned token (alg: none)', async () => {
    const { jwks, keys } = await setup();
    const none = `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims(t0))}.`;
    await expect(verifyToken(none, { jwks, issuer, audience, now: t0 })).rejects.toMatchObject({ code: 'ERR_JOSE_ALG_NOT_ALLOWED' });
    const noneWithKid = `${b64({ alg: 'none', kid: keys[0]!.kid, typ: 'JWT' })}.${b64(claims(t0))}.`;
    await expect(verifyToken(noneWithKid, { jwks, issuer, audience, now: t0 })).rejects.toMatchObject({ code: 'ERR_JOSE_ALG_NOT_ALLOWED' });
    const noneWithSignature = `${b64({ alg: 'none', kid: keys[0]!.kid, typ: 'JWT' })}.${b64(claims(t0))}.c2ln`;
    await expect(verifyToken(noneWithSignature, { jwks, issuer, audience, now: t0 })).rejects.toMatchObject({ code: 'ERR_JOSE_ALG_NOT_ALLOWED' });
  });

  it('an HS256 token using the public key as the HMAC secret', async () => {
    const { jwks, keys } = await setup();
    const kid = keys[0]!.kid;
    const publicKey = (await importJWK(keys[0]!.publicJwk, 'ES256')) as CryptoKey;
    const secrets = [await exportSPKI(publicKey), JSON.stringify(jwks.keys[0]), JSON.stringify(keys[0]!.publicJwk)];
    for (const secret of secrets) {
      // Signed by jose, and by hand (in case a library refuses the key).
      const viaJose = await new SignJWT(claims(t0)).setProtectedHeader({ alg: 'HS256', kid, typ: 'JWT' }).sign(new TextEncoder().encode(secret));
      const input = `${b64({ alg: 'HS256', kid, typ: 'JWT' })}.${b64(claims(t0))}`;
      const byHand = `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
      for (const forged of [viaJose, byHand]) {
        await expect(verifyToken(forged, { jwks, issuer, audience, now: t0 })).rejects.toMatchObject({ code: 'ERR_JOSE_ALG_NOT_ALLOWED' });
      }
    }
  });

  it('a token signed by a key not in the JWKS, even with a known kid', async () => {
    const { jwks, keys } = await setup();
    const other = await generateSigningKey(t0);
    const { token } = await issueToken({ keys: { ...other, kid: keys[0]!.kid }, issuer, audience, subject, groups, now: t0 });
    await expect(verifyToken(token, { jwks, issuer, audience, now: t0 })).rejects.toThrow(/signature/);
  });

  it('a tampered token', async () => {
    const { jwks, token } = await setup();
    const [header, , signature] = token.split('.');
    const tampered = `${header}.${b64({ ...claims(t0), groups: ['system:masters'] })}.${signature}`;
    await expect(verifyToken(tampered, { jwks, issuer, audience, now: t0 })).rejects.toThrow(/signature/);
  });

  it('a validly signed token that lives longer than the maximum, or lacks claims', async () => {
    const { jwks, keys, privateKey } = await setup();
    const header = { alg: 'ES256', kid: keys[0]!.kid, typ: 'JWT' };
    const long = await new SignJWT({ ...claims(t0), exp: claims(t0).iat + 3600 }).setProtectedHeader(header).sign(privateKey);
    await expect(verifyToken(long, { jwks, issuer, audience, now: t0 })).rejects.toThrow(/lifetime/);
    const { jti: _jti, ...noJti } = claims(t0);
    const withoutJti = await new SignJWT(noJti).setProtectedHeader(header).sign(privateKey);
    await expect(verifyToken(withoutJti, { jwks, issuer, audience, now: t0 })).rejects.toThrow(/jti/);
    const badGroups = await new SignJWT({ ...claims(t0), groups: 'WebDev' }).setProtectedHeader(header).sign(privateKey);
    await expect(verifyToken(badGroups, { jwks, issuer, audience, now: t0 })).rejects.toThrow(/groups/);
    const wrongTyp = await new SignJWT(claims(t0)).setProtectedHeader({ ...header, typ: 'at+jwt' }).sign(privateKey);
    await expect(verifyToken(wrongTyp, { jwks, issuer, audience, now: t0 })).rejects.toThrow(/typ/);
  });
});
