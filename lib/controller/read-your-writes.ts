// A write that returns once this process's informer cache shows it, so the caller's next
// read (served from that cache) sees what it just wrote.
import { setTimeout as sleep } from 'node:timers/promises';
import type { KubernetesObject } from '@kubernetes/client-node';

/** How long a write waits for the cache to show it; past that it answers anyway. */
const cacheSettleMs = 3_000;
const pollMs = 10;

/** Reads until `read` returns a value or cacheSettleMs is over; the last value read. */
export async function untilCached<T>(read: () => T | undefined): Promise<T | undefined> {
  const deadline = Date.now() + cacheSettleMs;
  for (;;) {
    const value = read();
    if (value !== undefined || Date.now() > deadline) return value;
    await sleep(pollMs);
  }
}

/**
 * Whether the cached object is the one a write returned, or a later one. Equality alone is
 * not enough: a controller's write right after (a status, a condition) can replace it in
 * the cache between two reads, and the caller would then wait out cacheSettleMs for a
 * version the cache has already passed. etcd's resourceVersions are increasing integers;
 * one that is not (another storage) is only ever compared for equality.
 */
export function cachedAtOrPast(cached: KubernetesObject | undefined, resourceVersion: string | undefined): boolean {
  const have = cached?.metadata?.resourceVersion;
  if (have === undefined || resourceVersion === undefined) return false;
  if (have === resourceVersion) return true;
  const integer = /^[1-9][0-9]*$/;
  return integer.test(have) && integer.test(resourceVersion) && BigInt(have) > BigInt(resourceVersion);
}
