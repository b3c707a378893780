// The operator's token signing keys as plain data, with no Kubernetes in sight: the
// rotation schedule and the JSON kept in the hub Secret (a key itself, and the JWKS it is
// published in, are the token contract's: api/tokens.ts).
//
// Rotation: the current key (the newest one not retired) signs every token. Once it is
// older than the rotation interval it is retired and a new current key is added; a
// retired key stays in the JWKS until every token it can have signed has expired
// (retiredAt + the maximum token lifetime + a clock-skew allowance), then it is dropped.
import { z } from 'zod';
import { currentKey, generateSigningKey, signingAlgorithm, type SigningKey } from '../../api/tokens.ts';

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

/** Copies the public members of an EC JWK; anything else (`d` above all) is left out. */
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
