// What the connector's informers keep of each object: only the fields the RBAC sync, the
// Synced status and the registration read, copied into a small object of their own as each
// one arrives (the informers' transform). Left whole, a cached object keeps everything the
// API server sent: managedFields, annotations, SubjectFound, a namespace's
// status, a ClusterRole's rules.
import type { KubernetesObject, V1ClusterRoleBinding, V1RoleBinding } from '@kubernetes/client-node';
import { destinationLabel } from '../../api/grants.ts';
import type { Grant } from '../../api/v1alpha1/types.ts';

/** The fields the informer's cache and watch run on: every transform keeps them. */
function cachedMetadata({ metadata }: KubernetesObject) {
  return { name: metadata?.name, namespace: metadata?.namespace, resourceVersion: metadata?.resourceVersion };
}

/** The conditions the connector writes: Synced, which it compares before writing, and the readiness it implies, whose transition times a write keeps. */
const connectorConditions = new Set(['Synced', 'Ready', 'Reconciling', 'Stalled']);

/**
 * A Grant's spec and generation, its destination label (Synced may be written only once the
 * operator has labelled it), and of its status only the conditions the connector writes.
 */
export function cachedGrant(grant: Grant): Grant {
  const conditions = grant.status?.conditions?.filter((c) => connectorConditions.has(c.type));
  const labelled = grant.metadata.labels?.[destinationLabel];
  return {
    apiVersion: grant.apiVersion,
    kind: grant.kind,
    metadata: {
      ...cachedMetadata(grant),
      generation: grant.metadata.generation,
      ...(labelled === undefined ? {} : { labels: { [destinationLabel]: labelled } }),
    },
    spec: grant.spec,
    ...(conditions?.length ? { status: { conditions } } : {}),
  };
}

/** An owned binding's subjects and role, and the uid a prune names as its precondition. */
export function cachedBinding<B extends V1RoleBinding | V1ClusterRoleBinding>(binding: B): B {
  return { metadata: { ...cachedMetadata(binding), uid: binding.metadata?.uid }, roleRef: binding.roleRef, subjects: binding.subjects } as B;
}

/** A namespace or ClusterRole: only its name is read. */
export function cachedName<T extends KubernetesObject>(obj: T): T {
  return { metadata: cachedMetadata(obj) } as T;
}
