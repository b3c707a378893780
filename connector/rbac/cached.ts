// What the connector's informers keep of each object: only the fields the RBAC sync, the
// Synced status and the registration read, copied into a small object of their own as each
// one arrives (the informers' transform). Left whole, a cached object keeps everything the
// API server sent: managedFields, annotations, SubjectFound, a namespace's
// status, a ClusterRole's rules. Their strings are interned (lib/intern.ts): thousands of
// Grants and bindings repeat the same roles, namespaces, users, timestamps and messages.
import type { KubernetesObject, V1ClusterRoleBinding, V1RoleBinding } from '@kubernetes/client-node';
import { destinationLabel } from '../../api/grants.ts';
import type { Grant } from '../../api/v1alpha1/types.ts';
import type { Condition } from '../../lib/conditions.ts';
import { internStrings } from '../../lib/intern.ts';

/** The fields the informer's cache and watch run on: every transform keeps them. */
function cachedMetadata({ metadata }: KubernetesObject) {
  return { name: metadata?.name, namespace: metadata?.namespace, resourceVersion: metadata?.resourceVersion };
}

/** The readiness the connector writes beside Synced: a write keeps their transition times and reads nothing else of them (mergeConditions). */
const impliedConditions = new Set(['Ready', 'Reconciling', 'Stalled']);

/**
 * Of a Grant's conditions, those the connector writes: Synced whole (compared before a
 * write), and of the readiness it implies only type, status and transition time. Their
 * messages, unique to each Grant, were a third of the Grant cache's heap (bench/README.md).
 */
function cachedConditions(grant: Grant): Condition[] | undefined {
  const conditions: Condition[] = [];
  for (const c of grant.status?.conditions ?? []) {
    if (c.type === 'Synced') conditions.push(c);
    // Read by nothing but mergeConditions, which takes the transition time of an unchanged status.
    else if (impliedConditions.has(c.type)) conditions.push({ type: c.type, status: c.status, lastTransitionTime: c.lastTransitionTime } as Condition);
  }
  return conditions.length > 0 ? conditions : undefined;
}

/**
 * A Grant's spec and generation, its destination label (Synced may be written only once the
 * operator has labelled it), and of its status only the conditions the connector writes.
 */
export function cachedGrant(grant: Grant): Grant {
  const conditions = cachedConditions(grant);
  const labelled = grant.metadata.labels?.[destinationLabel];
  return internStrings({
    apiVersion: grant.apiVersion,
    kind: grant.kind,
    metadata: {
      ...cachedMetadata(grant),
      generation: grant.metadata.generation,
      ...(labelled === undefined ? {} : { labels: { [destinationLabel]: labelled } }),
    },
    spec: grant.spec,
    ...(conditions ? { status: { conditions } } : {}),
  });
}

/** An owned binding's subjects and role, and the uid a prune names as its precondition. */
export function cachedBinding<B extends V1RoleBinding | V1ClusterRoleBinding>(binding: B): B {
  return internStrings({ metadata: { ...cachedMetadata(binding), uid: binding.metadata?.uid }, roleRef: binding.roleRef, subjects: binding.subjects }) as B;
}

/** A namespace or ClusterRole: only its name is read. */
export function cachedName<T extends KubernetesObject>(obj: T): T {
  return { metadata: cachedMetadata(obj) } as T;
}
