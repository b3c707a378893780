// Infra tokens: short-lived ES256 JWTs for one destination. The operator issues them with
// its current signing key; a connector (or a spoke kube-apiserver) verifies them against
// the operator's JWKS.
import { randomBytes } from 'node:crypto';
import { createLocalJWKSet, importJWK, jwtVerify, SignJWT, type CryptoKey, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import { currentKey, signingAlgorithm, type KeySet, type SigningKey } from './keyset.ts';

export const defaultTokenLifetimeMs = 5 * 60_000;
export const maxTokenLifetimeMs = 10 * 60_000;

export interface IssueTokenOptions {
  /** The key set (its current key signs) or the signing key itself. */
  keys: KeySet | SigningKey;
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
}

const importedKeys = new WeakMap<SigningKey, Promise<CryptoKey>>();

function privateKey(key: SigningKey): Promise<CryptoKey> {
  let imported = importedKeys.get(key);
  if (!imported) {
    imported = importJWK(key.privateJwk, signingAlgorithm) as Promise<CryptoKey>;
    importedKeys.set(key, imported);
  }
  return imported;
}

export async function issueToken(options: IssueTokenOptions): Promise<IssuedToken> {
  const lifetimeMs = options.lifetimeMs ?? defaultTokenLifetimeMs;
  if (!Number.isFinite(lifetimeMs) || lifetimeMs < 1000) throw new RangeError('token lifetime must be at least 1s');
  if (lifetimeMs > maxTokenLifetimeMs) throw new RangeError('token lifetime must be 10m or less: tokens are short-lived on purpose');
  if (!options.issuer || !options.audience || !options.subject) throw new TypeError('a token needs an issuer, an audience and a subject');
  const key = Array.isArray(options.keys) ? currentKey(options.keys as KeySet) : (options.keys as SigningKey);
  if (!key) throw new Error('no current signing key');

  const now = options.now ?? new Date();
  const iat = Math.floor(now.getTime() / 1000);
  // Rounded down, so a token never lives longer than asked.
  const exp = Math.floor((now.getTime() + lifetimeMs) / 1000);
  const token = await new SignJWT({ groups: [...options.groups] })
    .setProtectedHeader({ alg: signingAlgorithm, kid: key.kid, typ: 'JWT' })
    .setIssuer(options.issuer)
    .setAudience(options.audience)
    .setSubject(options.subject)
    .setIssuedAt(iat)
    .setNotBefore(iat)
    .setExpirationTime(exp)
    .setJti(randomBytes(16).toString('base64url'))
    .sign(await privateKey(key));
  return { token, expiresAt: new Date(exp * 1000) };
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
    groups: groups as string[],
    issuedAt: new Date(iat * 1000),
    expiresAt: new Date(exp * 1000),
    jti,
    kid: protectedHeader.kid ?? '',
  };
}
