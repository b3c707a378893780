// What RBAC a destination should have, computed from its Grants: one ClusterRoleBinding
// `infra:<role>` per role granted cluster-wide and one RoleBinding `infra:<role>` per
// (namespace, role), with the subjects aggregated (the RBAC authorizer walks bindings
// linearly on every request, so fewer, fuller bindings are faster), sharded past
// maxSubjectsPerBinding to stay far below etcd's object size limit.
import type { RbacV1Subject } from '@kubernetes/client-node';
import { expiresAtMs, grantNamespace, isExpired, isReservedSubject } from '../../api/grants.ts';
import type { Grant } from '../../api/v1alpha1/types.ts';
import { intern } from '../../lib/intern.ts';

export const maxSubjectsPerBinding = 1000;
export const managedByLabel = 'app.kubernetes.io/managed-by';
export const managedByValue = 'infra';
export const roleLabel = 'infrahq.com/role';

/** `<namespace>/<role>` for a RoleBinding, `/<role>` for a ClusterRoleBinding. */
export type BindingKey = string;

export function bindingKey(namespace: string | undefined, role: string): BindingKey {
  // Interned: every Grant of a binding holds its key (the controller's last-seen map, the queue).
  return intern(`${namespace ?? ''}/${role}`);
}

export function parseBindingKey(key: BindingKey): { namespace: string | undefined; role: string } {
  const slash = key.indexOf('/');
  const namespace = key.slice(0, slash);
  return { namespace: namespace === '' ? undefined : namespace, role: key.slice(slash + 1) };
}

/** The binding a Grant contributes to, given the destination it belongs to. */
export function grantBindingKey(grant: Grant): BindingKey {
  return bindingKey(grantNamespace(grant), grant.spec.role);
}

export function subjectOf(grant: Grant): RbacV1Subject {
  return grant.spec.user !== undefined
    ? { kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: grant.spec.user }
    : { kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: grant.spec.group! };
}

/** Binding names for a role: `infra:<role>`, then `infra:<role>:2`, `:3`, … for further shards. */
export function bindingName(role: string, shard: number): string {
  return shard === 0 ? `infra:${role}` : `infra:${role}:${shard + 1}`;
}

/**
 * UTF-16 code unit order, as Kubernetes sorts names: the same on every host. localeCompare
 * orders by the process's locale, so two connectors (a new leader on another node) could
 * split the same subjects into different shards, and it pulls ICU's collation data into
 * memory.
 */
const byCodeUnits = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Unique subjects in a stable order, split into shards of at most maxSubjectsPerBinding. */
export function shardSubjects(grants: readonly Grant[], max = maxSubjectsPerBinding): RbacV1Subject[][] {
  const unique = new Map<string, RbacV1Subject>();
  for (const grant of grants) {
    const subject = subjectOf(grant);
    unique.set(`${subject.kind}/${subject.name}`, subject);
  }
  const sorted = [...unique.values()].sort((a, b) => byCodeUnits(a.kind, b.kind) || byCodeUnits(a.name, b.name));
  const shards: RbacV1Subject[][] = [];
  for (let i = 0; i < sorted.length; i += max) shards.push(sorted.slice(i, i + max));
  return shards;
}

export type SyncProblem =
  | { reason: 'ReservedSubject'; message: string }
  | { reason: 'RoleNotFound'; message: string }
  | { reason: 'NamespaceNotFound'; message: string }
  | { reason: 'Expired'; message: string }
  | { reason: 'ProtectedNamespace'; message: string };

/**
 * Why a Grant cannot be bound here, or undefined when it can. `refusedNamespaces` are the
 * protected namespaces (kube-system, the connector's own) the Destination does not allow
 * Grants in: a role there reaches the connector's credentials or the cluster's.
 */
export function syncProblem(
  grant: Grant,
  destination: string,
  roles: ReadonlySet<string>,
  namespaces: ReadonlySet<string>,
  now: Date,
  refusedNamespaces: ReadonlySet<string> = new Set(),
): SyncProblem | undefined {
  const subject = grant.spec.user ?? grant.spec.group ?? '';
  if (isReservedSubject(subject)) {
    return {
      reason: 'ReservedSubject',
      message: `${subject} is one of Kubernetes' own ${grant.spec.user !== undefined ? 'users' : 'groups'}: a binding to it would give ${grant.spec.role} to every user or workload of ${destination}; it is never bound`,
    };
  }
  if (isExpired(grant, now)) {
    const message =
      expiresAtMs(grant) === -Infinity
        ? `expiresAt "${grant.spec.expiresAt}" is not an RFC 3339 timestamp, so the Grant counts as expired; nothing is bound`
        : `expired at ${grant.spec.expiresAt}; the binding was removed`;
    return { reason: 'Expired', message };
  }
  if (!roles.has(grant.spec.role)) {
    return {
      reason: 'RoleNotFound',
      message: `ClusterRole ${grant.spec.role} does not exist in destination ${destination}; create it there or pick one of its roles (kubectl get destination ${destination} -o jsonpath='{.status.roles}')`,
    };
  }
  const namespace = grantNamespace(grant);
  if (namespace !== undefined && refusedNamespaces.has(namespace)) {
    return {
      reason: 'ProtectedNamespace',
      message: `namespace ${namespace} holds the credentials of ${namespace === 'kube-system' ? "the cluster's own controllers" : "Infra's connector, which may bind any role"}: a role there reaches every namespace of ${destination}, so it is never bound unless the Destination allows it (kubectl patch destination ${destination} --type merge -p '{"spec":{"allowGrantsIn":["${namespace}"]}}')`,
    };
  }
  if (namespace !== undefined && !namespaces.has(namespace)) {
    return {
      reason: 'NamespaceNotFound',
      message: `namespace ${namespace} does not exist in destination ${destination}; the binding is created as soon as it does`,
    };
  }
  return undefined;
}
