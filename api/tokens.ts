// Infra tokens, the contract between the operator that issues them and every verifier (a
// connector's proxy, or a spoke kube-apiserver): short-lived ES256 JWTs for one
// destination, signed with the operator's current key and verified against the JWKS it
// publishes. The key and the JWKS are defined here; rotating and storing keys is the
// operator's (operator/signing/).
import { createPrivateKey, randomBytes, sign, type KeyObject } from 'node:crypto';
import { derToJose } from 'ecdsa-sig-formatter';
import { calculateJwkThumbprint, createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify, type JSONWebKeySet, type JWK, type JWTVerifyGetKey } from 'jose';
import { defaultTokenLifetimeMs, maxTokenLifetimeMs } from './token-lifetime.ts';

export const signingAlgorithm = 'ES256';

export interface SigningKey {
  /** RFC 7638 JWK thumbprint (SHA-256) of the public key. */
  kid: string;
  alg: typeof signingAlgorithm;
  /** The private key (EC P-256, with `d`). Never logged, never served. */
  privateJwk: JWK;
  /** The public key: only kty, crv, x, y. */
  publicJwk: JWK;
  /** RFC 3339 timestamps, so a key set is plain JSON. */
  createdAt: string;
  retiredAt?: string;
}

/** Generates a new ES256 key, current from `now`. */
export async function generateSigningKey(now: Date = new Date()): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(signingAlgorithm, { extractable: true });
  const privateJwk = await exportJWK(privateKey);
  const publicJwk = ecPublicMembers(await exportJWK(publicKey));
  const kid = await calculateJwkThumbprint(publicJwk, 'sha256');
  return { kid, alg: signingAlgorithm, privateJwk, publicJwk, createdAt: now.toISOString() };
}

/** The JWKS that verifies tokens from every key in the set: public members only. */
export function publicJwks(keys: readonly SigningKey[]): JSONWebKeySet {
  return {
    keys: [...keys]
      .sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt))
      .map((key) => ({ ...ecPublicMembers(key.publicJwk), kid: key.kid, alg: key.alg, use: 'sig' })),
  };
}

function ecPublicMembers(jwk: JWK): JWK {
  const { kty, crv, x, y } = jwk;
  if (kty !== 'EC' || crv !== 'P-256' || !x || !y) throw new Error('signing key is not an EC P-256 key');
  return { kty, crv, x, y };
}

/** The key that signs tokens now: the newest key that is not retired. */
export function currentKey(keys: readonly SigningKey[]): SigningKey | undefined {
  let current: SigningKey | undefined;
  for (const key of keys) {
    if (key.retiredAt !== undefined) continue;
    if (!current || Date.parse(key.createdAt) >= Date.parse(current.createdAt)) current = key;
  }
  return current;
}

export interface IssueTokenOptions {
  /** The key set (its current key signs) or the signing key itself. */
  keys: readonly SigningKey[] | SigningKey;
  /** The operator's public URL. */
  issuer: string;
  /** The destination name. */
  audience: string;
  /** The user's email. */
  subject: string;
  groups: readonly string[];
  /** Defaults to 5 minutes; more than 10 minutes is refused. */
  lifetimeMs?: number;
  now?: Date;
}

export interface IssuedToken {
  token: string;
  expiresAt: Date;
  /** The token's id: audit lines name it as the credential (JTI=<jti>, as a kube-apiserver does). */
  jti: string;
}

/** A key's signer: its private key and its JWS protected header, encoded once. */
interface Signer {
  key: KeyObject;
  encodedHeader: string;
}

const signers = new WeakMap<SigningKey, Signer>();

function signerFor(key: SigningKey): Signer {
  let signer = signers.get(key);
  if (!signer) {
    signer = {
      key: createPrivateKey({ key: key.privateJwk, format: 'jwk' }),
      encodedHeader: base64url(JSON.stringify({ alg: signingAlgorithm, kid: key.kid, typ: 'JWT' })),
    };
    signers.set(key, signer);
  }
  return signer;
}

const base64url = (text: string) => Buffer.from(text, 'utf8').toString('base64url');

/**
 * ECDSA over SHA-256 as JWS wants it: r ‖ s (RFC 7518 §3.4), base64url. On the calling
 * thread: one P-256 signature costs less CPU than handing it to libuv's thread pool and
 * back (bench/README.md, "Token issuance"). Node signs DER with the KeyObject itself,
 * and ecdsa-sig-formatter turns that into r ‖ s: Node 24's object form
 * (`{ key, dsaEncoding: 'ieee-p1363' }`) costs about twice the CPU per signature, as it
 * tells a KeyObject from an options object by catching a TypeError it throws, twice, each
 * capturing the stack (bench/README.md, "Session 38").
 */
const signES256 = (data: Buffer, key: KeyObject): string => derToJose(sign('sha256', data, key), signingAlgorithm);

/**
 * Signs a token with node:crypto directly: a compact JWS (RFC 7515) with the same header
 * and claims jose's SignJWT would write, at a fraction of its cost per token
 * (bench/README.md, "Token issuance"); every verifier still checks it with jose. The
 * promise is settled before the caller's next event-loop turn, as nothing leaves the
 * thread; it stays a promise so that a refusal is a rejection, as callers expect.
 */
export async function issueToken(options: IssueTokenOptions): Promise<IssuedToken> {
  const lifetimeMs = options.lifetimeMs ?? defaultTokenLifetimeMs;
  if (!Number.isFinite(lifetimeMs) || lifetimeMs < 1000) throw new RangeError('token lifetime must be at least 1s');
  if (lifetimeMs > maxTokenLifetimeMs) throw new RangeError('token lifetime must be 10m or less: tokens are short-lived on purpose');
  if (!options.issuer || !options.audience || !options.subject) throw new TypeError('a token needs an issuer, an audience and a subject');
  const key = Array.isArray(options.keys) ? currentKey(options.keys as readonly SigningKey[]) : (options.keys as SigningKey);
  if (!key) throw new Error('no current signing key');

  const now = options.now ?? new Date();
  const iat = Math.floor(now.getTime() / 1000);
  // Rounded down, so a token never lives longer than asked.
  const exp = Math.floor((now.getTime() + lifetimeMs) / 1000);
  const jti = randomBytes(16).toString('base64url');
  const claims = {
    groups: [...options.groups],
    iss: options.issuer,
    aud: options.audience,
    sub: options.subject,
    iat,
    nbf: iat,
    exp,
    jti,
  };
  const signer = signerFor(key);
  const signingInput = `${signer.encodedHeader}.${base64url(JSON.stringify(claims))}`;
  const signature = signES256(Buffer.from(signingInput, 'ascii'), signer.key);
  return { token: `${signingInput}.${signature}`, expiresAt: new Date(exp * 1000), jti };
}

export interface VerifyTokenOptions {
  /** The operator's JWKS, or a key resolver made from it (createLocalJWKSet / createRemoteJWKSet), which caches imported keys. */
  jwks: JSONWebKeySet | JWTVerifyGetKey;
  issuer: string;
  /** The destination name this verifier serves. */
  audience: string;
  /** Tolerance for clock skew on exp / nbf / iat, in seconds; default 0. */
  clockToleranceSec?: number;
  now?: Date;
}

export interface VerifiedToken {
  subject: string;
  groups: string[];
  issuedAt: Date;
  expiresAt: Date;
  jti: string;
  kid: string;
}

/**
 * Verifies an Infra token: ES256 only, a known kid, issuer, audience, time claims, and a
 * lifetime within the maximum. Throws (a jose error, or an Error) when anything is wrong;
 * callers answer every failure with the same "authentication failed".
 */
export async function verifyToken(token: string, options: VerifyTokenOptions): Promise<VerifiedToken> {
  const getKey = typeof options.jwks === 'function' ? options.jwks : createLocalJWKSet(options.jwks);
  const { payload, protectedHeader } = await jwtVerify(token, getKey, {
    algorithms: [signingAlgorithm],
    issuer: options.issuer,
    audience: options.audience,
    typ: 'JWT',
    requiredClaims: ['iss', 'aud', 'sub', 'iat', 'nbf', 'exp', 'jti'],
    clockTolerance: options.clockToleranceSec ?? 0,
    ...(options.now ? { currentDate: options.now } : {}),
  });
  const { sub, iat, exp, jti, groups } = payload;
  if (typeof sub !== 'string' || sub === '') throw new Error('token has no subject');
  if (typeof jti !== 'string' || jti === '') throw new Error('token has no jti');
  if (!Array.isArray(groups) || !groups.every((group) => typeof group === 'string')) throw new Error('token groups must be a list of strings');
  if (typeof iat !== 'number' || typeof exp !== 'number' || (exp - iat) * 1000 > maxTokenLifetimeMs) throw new Error('token lifetime exceeds the maximum');
  return {
    subject: sub,
    groups: groups,
    issuedAt: new Date(iat * 1000),
    expiresAt: new Date(exp * 1000),
    jti,
    kid: protectedHeader.kid ?? '',
  };
}
