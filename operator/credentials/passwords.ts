// Built-in users' passwords: scrypt hashes in a PHC-style string, kept in a Secret that
// User.spec.passwordSecretRef names. Plain passwords are never stored.
import { randomBytes, randomInt, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const params = { N: 2 ** 15, r: 8, p: 1 } as const;
const keyLength = 32;

function derive(password: string, salt: Buffer, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password.normalize('NFKC'), salt, keyLength, { ...options, maxmem: 128 * options.N! * options.r! * 2 }, (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  );
}

/** `$scrypt$ln=15,r=8,p=1$<salt>$<hash>` with base64 salt and hash. */
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
  const [, ln, r, p, salt, hash] = match;
  if (Number(ln) > 20) return false; // refuse a hash that would cost seconds of CPU per try
  const expected = Buffer.from(hash!, 'base64');
  const actual = await derive(password, Buffer.from(salt!, 'base64'), { N: 2 ** Number(ln), r: Number(r), p: Number(p) });
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

const oneTimeAlphabet = 'abcdefghjkmnpqrstuvwxyz23456789'; // no 0/o, 1/l/i

/** A one-time password an admin can read out: four groups of five, about 99 bits, e.g. k3m9p-x7q2r-…. */
export function oneTimePassword(): string {
  const chars = Array.from({ length: 20 }, () => oneTimeAlphabet[randomInt(oneTimeAlphabet.length)]);
  return [0, 5, 10, 15].map((i) => chars.slice(i, i + 5).join('')).join('-');
}
