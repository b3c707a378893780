// Built-in users' passwords: scrypt hashes in a PHC-style string, kept in a Secret that
// User.spec.passwordSecretRef names. Plain passwords are never stored.
import { randomBytes, randomInt, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

// OWASP's minimum for scrypt: N=2^17 (128 MiB with r=8), r=8, p=1. Hashes made with
// N=2^15 before still verify.
const params = { N: 2 ** 17, r: 8, p: 1 } as const;
const keyLength = 32;
/**
 * What a stored hash may ask for. The hash comes from a Secret an admin may point a User
 * at, so its parameters are input: past these bounds, or costing more than twice the
 * default, it is refused rather than letting one login burn seconds of CPU or gigabytes.
 */
const bounds = { ln: [14, 20], r: [8, 32], p: [1, 4] } as const;
const maxCost = 2 * params.N * params.r * params.p;
const within = (value: number, [min, max]: readonly [number, number]) => value >= min && value <= max;

function derive(password: string, salt: Buffer, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password.normalize('NFKC'), salt, keyLength, { ...options, maxmem: 128 * options.N! * options.r! * 2 }, (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  );
}

/** `$scrypt$ln=17,r=8,p=1$<salt>$<hash>` with base64 salt and hash. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await derive(password, salt, params);
  return `$scrypt$ln=${Math.log2(params.N)},r=${params.r},p=${params.p}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

const format = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/;

/** True when the password matches; false for a mismatch or a hash it cannot read. */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const match = format.exec(encoded.trim());
  if (!match) return false;
  const [ln, r, p] = match.slice(1, 4).map(Number) as [number, number, number];
  const [salt, hash] = match.slice(4) as [string, string];
  if (!within(ln, bounds.ln) || !within(r, bounds.r) || !within(p, bounds.p) || 2 ** ln * r * p > maxCost) return false;
  const expected = Buffer.from(hash, 'base64');
  const actual = await derive(password, Buffer.from(salt, 'base64'), { N: 2 ** ln, r, p });
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

const oneTimeAlphabet = 'abcdefghjkmnpqrstuvwxyz23456789'; // no 0/o, 1/l/i

/** A one-time password an admin can read out: four groups of five, about 99 bits, e.g. k3m9p-x7q2r-…. */
export function oneTimePassword(): string {
  const chars = Array.from({ length: 20 }, () => oneTimeAlphabet[randomInt(oneTimeAlphabet.length)]);
  return [0, 5, 10, 15].map((i) => chars.slice(i, i + 5).join('')).join('-');
}
