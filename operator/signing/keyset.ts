// The operator's token signing keys as plain data, with no Kubernetes in sight: generating
// a key, the rotation schedule, the public JWKS and the JSON kept in the hub Secret.
//
// Rotation: the current key (the newest one not retired) signs every token. Once it is
// older than the rotation interval it is retired and a new current key is added; a
// retired key stays in the JWKS until every token it can have signed has expired
// (retiredAt + the maximum token lifetime + a clock-skew allowance), then it is dropped.
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JSONWebKeySet, type JWK } from 'jose';
import { z } from 'zod';
import { currentKey, signingAlgorithm } from '../../api/tokens.ts';

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

/** The keys the operator holds: the current one and any retired ones still in the JWKS. */
export type KeySet = readonly SigningKey[];

export interface RotationPolicy {
  now: Date;
  /** How long a key signs tokens before it is replaced. */
  rotationIntervalMs: number;
  /** The longest lifetime of any token a key signed: a retired key is kept this long. */
  maxTokenLifetimeMs: number;
  /** Extra time a retired key is kept, for clock skew and replicas that refresh late. */
  clockSkewMs?: number;
}

export const defaultClockSkewMs = 60_000;

/** Generates a new ES256 key, current from `now`. */
export async function generateSigningKey(now: Date = new Date()): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(signingAlgorithm, { extractable: true });
  const privateJwk = await exportJWK(privateKey);
  const publicJwk = ecPublicMembers(await exportJWK(publicKey));
  const kid = await calculateJwkThumbprint(publicJwk, 'sha256');
  return { kid, alg: signingAlgorithm, privateJwk, publicJwk, createdAt: now.toISOString() };
}

/**
 * Applies the rotation schedule at `now`: retires a current key older than the rotation
 * interval (and any other key not retired), adds a new current key when there is none,
 * and drops retired keys whose tokens have all expired. Does not modify `keys`.
 */
export async function rotate(
  keys: KeySet,
  policy: RotationPolicy,
  generate: (now: Date) => Promise<SigningKey> = generateSigningKey,
): Promise<{ keys: SigningKey[]; changed: boolean }> {
  const now = policy.now.getTime();
  const keepRetiredMs = policy.maxTokenLifetimeMs + (policy.clockSkewMs ?? defaultClockSkewMs);
  const retiredAt = policy.now.toISOString();
  let changed = false;

  let current = currentKey(keys);
  if (current && now - Date.parse(current.createdAt) >= policy.rotationIntervalMs) current = undefined;

  const next: SigningKey[] = [];
  for (const key of keys) {
    if (key.retiredAt === undefined && key !== current) {
      // The old current key, or a stray second key that never signed as current.
      next.push({ ...key, retiredAt });
      changed = true;
    } else if (key.retiredAt !== undefined && now - Date.parse(key.retiredAt) >= keepRetiredMs) {
      changed = true; // every token it signed has expired
    } else {
      next.push(key);
    }
  }
  if (!current) {
    next.push(await generate(policy.now));
    changed = true;
  }
  next.sort((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt));
  return { keys: next, changed };
}

/** The JWKS that verifies tokens from every key in the set: public members only. */
export function publicJwks(keys: KeySet): JSONWebKeySet {
  return {
    keys: [...keys]
      .sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt))
      .map((key) => ({ ...ecPublicMembers(key.publicJwk), kid: key.kid, alg: key.alg, use: 'sig' })),
  };
}

/** Copies the public members of an EC JWK; anything else (`d` above all) is left out. */
function ecPublicMembers(jwk: JWK): JWK {
  const { kty, crv, x, y } = jwk;
  if (kty !== 'EC' || crv !== 'P-256' || !x || !y) throw new Error('signing key is not an EC P-256 key');
  return { kty, crv, x, y };
}

const base64url = z.string().regex(/^[A-Za-z0-9_-]+$/);
const timestamp = z.iso.datetime();
const signingKeySchema = z.object({
  kid: base64url,
  alg: z.literal(signingAlgorithm),
  privateJwk: z.object({ kty: z.literal('EC'), crv: z.literal('P-256'), x: base64url, y: base64url, d: base64url }),
  publicJwk: z.strictObject({ kty: z.literal('EC'), crv: z.literal('P-256'), x: base64url, y: base64url }),
  createdAt: timestamp,
  retiredAt: timestamp.optional(),
});
const keySetDocumentSchema = z.object({ keys: z.array(signingKeySchema) });

/** The JSON kept in the Secret. */
export function serializeKeySet(keys: KeySet): string {
  return JSON.stringify({ keys });
}

/**
 * Parses the JSON kept in the Secret. The error names the fields that are wrong, never
 * their values: they may be private keys.
 */
export function parseKeySet(json: string): SigningKey[] {
  let document: unknown;
  try {
    document = JSON.parse(json);
  } catch {
    throw new Error('signing key set is not valid JSON');
  }
  const result = keySetDocumentSchema.safeParse(document);
  if (!result.success) {
    const fields = result.error.issues.map((issue) => issue.path.join('.') || '(root)');
    throw new Error(`signing key set is malformed at ${[...new Set(fields)].join(', ')}`);
  }
  return result.data.keys;
}
