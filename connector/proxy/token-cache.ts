// Tokens the proxy has verified, remembered until they expire. kubectl sends the same
// token with every request for minutes, and checking its ES256 signature took a third of
// the proxy's CPU per request (bench/scenarios/connector-proxy.ts, profiled).
//
// Nothing is accepted that verification would refuse:
// - only what verification accepted is remembered, under the token's SHA-256 (the cache
//   holds no token);
// - a hit is checked against the token's `exp` again, with the verifier's clock tolerance;
// - an entry remembers the version of the key set it was verified against, and any other
//   version misses: a key the hub withdraws stops working at the connector's next key
//   refresh, as without the cache.
// Every other check (signature, alg, typ, issuer, audience, claims) depends on the token
// and the key alone.
import { hash } from 'node:crypto';

export const defaultMaxEntries = 10_000;

export interface VerifiedTokenCacheOptions {
  clockToleranceSec: number;
  /** Entries kept at most: expired ones are dropped first, then the oldest. */
  maxEntries?: number;
  /** Milliseconds since the epoch; for tests. */
  now?: () => number;
}

interface Entry<T> {
  value: T;
  expiresAtSec: number;
  keySetVersion: number;
}

export class VerifiedTokenCache<T> {
  readonly #entries = new Map<string, Entry<T>>();
  readonly #clockToleranceSec: number;
  readonly #maxEntries: number;
  readonly #now: () => number;

  constructor(options: VerifiedTokenCacheOptions) {
    this.#clockToleranceSec = options.clockToleranceSec;
    this.#maxEntries = options.maxEntries ?? defaultMaxEntries;
    this.#now = options.now ?? Date.now;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** What was remembered for this token, if it is unexpired and was verified against this key set. */
  get(token: string, keySetVersion: number): T | undefined {
    const id = digest(token);
    const entry = this.#entries.get(id);
    if (entry === undefined) return undefined;
    if (entry.keySetVersion === keySetVersion && this.#unexpired(entry)) return entry.value;
    this.#entries.delete(id);
    return undefined;
  }

  /** Remembers a verified token: `keySetVersion` as read before verifying it, `expiresAtSec` its `exp`. */
  set(token: string, keySetVersion: number, expiresAtSec: number, value: T): void {
    if (this.#entries.size >= this.#maxEntries) this.#makeRoom();
    this.#entries.set(digest(token), { value, expiresAtSec, keySetVersion });
  }

  /** jose's rule: a token has expired when `exp <= now - tolerance`, in whole seconds. */
  #unexpired(entry: Entry<T>): boolean {
    return entry.expiresAtSec > Math.floor(this.#now() / 1000) - this.#clockToleranceSec;
  }

  #makeRoom(): void {
    for (const [id, entry] of this.#entries) if (!this.#unexpired(entry)) this.#entries.delete(id);
    // Still full of live tokens: the oldest go (a Map iterates in insertion order).
    for (const id of this.#entries.keys()) {
      if (this.#entries.size < this.#maxEntries) break;
      this.#entries.delete(id);
    }
  }
}

function digest(token: string): string {
  return hash('sha256', token, 'base64url');
}
