// What deciding a request reads from the hub's caches, and when approved access ends.
import { grantsFor, type Identity } from '../access.ts';
import type { Hub } from '../hub.ts';
import type { RequestContext } from './policy.ts';

/** What a policy evaluation of `requester`'s request reads from the hub's caches. */
export function requestContext(hub: Hub, requester: Identity, now: Date): RequestContext {
  return { policies: hub.accessPolicies.list(), destination: (name) => hub.destinations.get(name), grants: grantsFor(hub, requester, now) };
}

/** When access granted for `durationMs` from now ends, to the second, as Grants write it. */
export function expiryFrom(now: Date, durationMs: number): string {
  return new Date(now.getTime() + durationMs).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
