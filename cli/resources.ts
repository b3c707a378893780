// The management API from the CLI's side: the hub's Infra objects at their Kubernetes
// paths on the server, plus the formatting the list commands share.
import type { KubernetesObject } from '@kubernetes/client-node';
import { resources } from '../api/v1alpha1/types.ts';
import type { InfraClient } from './api.ts';
import { ApiStatusError, CliError } from './errors.ts';

type Kind = keyof typeof resources;
const apiVersion = 'infrahq.com/v1alpha1';

const path = (kind: Kind, name?: string) => `/apis/${apiVersion}/${resources[kind].plural}${name === undefined ? '' : `/${encodeURIComponent(name)}`}`;

export async function listObjects<T extends KubernetesObject>(client: InfraClient, kind: Kind): Promise<T[]> {
  const list = (await client.request('GET', path(kind))) as { items?: T[] };
  return list.items ?? [];
}

export async function getObject<T extends KubernetesObject>(client: InfraClient, kind: Kind, name: string): Promise<T | undefined> {
  try {
    return (await client.request('GET', path(kind, name))) as T;
  } catch (err) {
    if (err instanceof ApiStatusError && err.code === 404) return undefined;
    throw err;
  }
}

/** Creates an object; the server names it when `metadata.name` is absent. Extra top-level fields ride along (a Provider's clientSecret). */
export async function createObject<T extends KubernetesObject>(
  client: InfraClient,
  kind: Kind,
  object: { metadata?: { name?: string }; spec: object; [extra: string]: unknown },
): Promise<T> {
  return (await client.request('POST', path(kind), { apiVersion, kind, ...object })) as T;
}

export async function deleteObject(client: InfraClient, kind: Kind, name: string): Promise<void> {
  await client.request('DELETE', path(kind, name));
}

/** A JSON merge patch of the spec, refused by the hub if the object changed since `resourceVersion`. */
export async function patchSpec<T extends KubernetesObject>(
  client: InfraClient,
  kind: Kind,
  name: string,
  spec: object,
  resourceVersion: string | undefined,
): Promise<T> {
  const body = { spec, ...(resourceVersion ? { metadata: { resourceVersion } } : {}) };
  return (await client.request('PATCH', path(kind, name), body, 'application/merge-patch+json')) as T;
}

/** Reads, changes and writes an object, retrying when someone else changed it in between. */
export async function updateSpec<T extends KubernetesObject & { spec: object }>(
  client: InfraClient,
  kind: Kind,
  name: string,
  change: (current: T) => object | undefined,
): Promise<T | undefined> {
  for (let attempt = 0; ; attempt++) {
    const current = await getObject<T>(client, kind, name);
    if (!current) throw new CliError(`${resources[kind].kind} "${name}" does not exist`);
    const spec = change(current);
    if (spec === undefined) return undefined;
    try {
      return await patchSpec<T>(client, kind, name, spec, current.metadata?.resourceVersion);
    } catch (err) {
      if (!(err instanceof ApiStatusError && err.code === 409) || attempt >= 3) throw err;
    }
  }
}

/** "3m ago", "in 2h": for timestamps in tables. */
export function relativeTime(iso: string | undefined, now = Date.now()): string {
  if (!iso) return '—';
  const ms = Date.parse(iso) - now;
  const abs = Math.abs(ms);
  const units: [number, string][] = [
    [86_400_000, 'd'],
    [3_600_000, 'h'],
    [60_000, 'm'],
    [1_000, 's'],
  ];
  const [size, unit] = units.find(([size]) => abs >= size) ?? [1_000, 's'];
  const text = `${Math.floor(abs / size)}${unit}`;
  return ms < 0 ? `${text} ago` : `in ${text}`;
}
