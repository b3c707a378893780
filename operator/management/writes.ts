// Hub writes on a caller's behalf, shared by the management API's routes: the hub's own
// Status goes back to the caller unchanged, and a write returns once the operator's cache
// shows it, so the caller's next read sees it.
import { ApiException, type KubernetesObject } from '@kubernetes/client-node';
import { untilCached } from '../../lib/controller/read-your-writes.ts';
import { StatusError } from '../../lib/status-error.ts';

/** What the API reads of a hub informer. */
export interface Cache {
  get(name: string): KubernetesObject | undefined;
  list(): readonly KubernetesObject[];
}

/** Runs a hub write; the hub's own Status (validation, conflict, not found) goes back to the caller as it is. */
export async function forward<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if (!(err instanceof ApiException)) throw err;
    const status = parseStatus(err.body);
    throw new StatusError(err.code, status?.reason ?? 'Unknown', status?.message ?? `the hub answered HTTP ${err.code}`);
  }
}

function parseStatus(body: unknown): { reason?: string; message?: string } | undefined {
  try {
    const parsed = (typeof body === 'string' ? JSON.parse(body) : body) as { kind?: string; reason?: string; message?: string };
    return parsed?.kind === 'Status' ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** Waits (bounded) until the cache shows a write, so the caller's next read sees it. */
export async function settled(informer: Cache, name: string, done: (cached: KubernetesObject | undefined) => boolean): Promise<void> {
  await untilCached(() => done(informer.get(name)) || undefined);
}
