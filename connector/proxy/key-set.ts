// The operator's signing keys as the proxy verifies tokens with them: a key set that says
// when it changes (its version), behind a jose key resolver that fetches again, once and
// rate-limited, when a token names a key it does not hold (the operator has rotated).
// Held by jwks.ts's JwksCache, which fetches the keys, and by the proxy thread's copy of
// them (thread-worker.ts), which the main thread keeps current; free of any HTTP client,
// so the proxy thread loads none.
import { createLocalJWKSet, errors, type FlattenedJWSInput, type JSONWebKeySet, type JWTHeaderParameters, type JWTVerifyGetKey } from 'jose';

/** Keys that can verify a token, and a version that goes up whenever they change: what was verified against another version may not verify now. */
export interface KeySet {
  readonly getKey: JWTVerifyGetKey;
  readonly version: number;
}

/** Thrown by a key resolver while no key set has ever been held: nothing can be verified yet. */
export class KeysUnavailableError extends Error {
  override readonly name = 'KeysUnavailableError';
}

export type LocalKeySet = ReturnType<typeof createLocalJWKSet>;

/**
 * A jose key resolver over the keys `current()` holds. When there are none yet, or a
 * token's `kid` is not among them, `refetch()` is asked once (it rate-limits, so a stream
 * of made-up kids cannot turn into a stream of requests to the hub) and resolves true
 * when it stored a fresh key set.
 */
export function keyResolver(current: () => LocalKeySet | undefined, refetch: () => Promise<boolean>): JWTVerifyGetKey {
  return async (header: JWTHeaderParameters, token: FlattenedJWSInput) => {
    let keys = current();
    if (!keys) {
      await refetch();
      keys = current();
      if (!keys) throw new KeysUnavailableError("the hub's signing keys have not been loaded yet");
    }
    try {
      return await keys(header, token);
    } catch (error) {
      if (!(error instanceof errors.JWKSNoMatchingKey) || !(await refetch())) throw error;
      return await current()!(header, token);
    }
  };
}

/** A copy of keys fetched elsewhere: updated by whoever fetches them, asking them to refetch for an unknown key. */
export class RelayedKeySet implements KeySet {
  #keys: LocalKeySet | undefined;
  #version = 0;
  readonly getKey: JWTVerifyGetKey;

  constructor(refetch: () => Promise<boolean>) {
    this.getKey = keyResolver(() => this.#keys, refetch);
  }

  get version(): number {
    return this.#version;
  }

  /** Holds these keys from now on, as `version` of the key set. */
  update(jwks: JSONWebKeySet, version: number): void {
    this.#keys = createLocalJWKSet(jwks);
    this.#version = version;
  }
}
