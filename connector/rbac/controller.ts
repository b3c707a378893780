// RBAC sync: keeps the spoke's `infra:<role>` bindings equal to the hub's Grants for
// this destination. Work is keyed by binding (namespace, role), so a Grant change
// recomputes only the binding it touches; the Synced condition each Grant gets is written
// by a controller of its own (synced-status.ts). It never prunes before the hub's Grants
// have been listed once, and a hub outage leaves the informer's last known Grants in
// place: doubt never empties the cluster.
import type { KubeConfig, RbacV1Subject, V1ClusterRoleBinding, V1RoleBinding } from '@kubernetes/client-node';
import type { Grant, resources } from '../../api/v1alpha1/types.ts';
import { destinationLabel, expiresAtMs, grantDestination } from '../../api/grants.ts';
import type { Applier } from '../../lib/apply.ts';
import type { ConditionInput } from '../../lib/conditions.ts';
import { Controller, type ControllerMetrics } from '../../lib/controller/controller.ts';
import type { Informer } from '../../lib/controller/informer.ts';
import { statusCode } from '../../lib/kube.ts';
import type { Logger } from '../../lib/log.ts';
import { resourcePath, RestClient } from '../../lib/rest.ts';
import {
  bindingKey,
  bindingName,
  grantBindingKey,
  managedByLabel,
  managedByValue,
  parseBindingKey,
  shardSubjects,
  syncProblem,
  type BindingKey,
} from './desired.ts';
import type { ProtectedNamespaces } from './protected-namespaces.ts';
import { SyncedStatus } from './synced-status.ts';

export const fieldManager = 'infra-connector';
/** A Grant that moved to another binding leaves its old one this much later, so access has no gap. */
const moveDelayMs = 1000;
/** Bindings reconciled at once: each is a round trip or two to the spoke, so I/O bound. */
export const bindingWorkers = 8;

type Binding = V1ClusterRoleBinding | V1RoleBinding;

export interface SpokeInformers {
  namespaces: Informer<{ metadata?: { name?: string } }>;
  clusterRoles: Informer<{ metadata?: { name?: string } }>;
  /** Bindings labelled app.kubernetes.io/managed-by=infra, cluster-wide and namespaced. */
  clusterRoleBindings: Informer<V1ClusterRoleBinding>;
  roleBindings: Informer<V1RoleBinding>;
}

export interface RBACSyncOptions {
  destination: string;
  grants: Informer<Grant>;
  spoke: SpokeInformers;
  spokeConfig: KubeConfig;
  /** kube-system and the connector's namespace, and whether the Destination allows Grants there. */
  protectedNamespaces: ProtectedNamespaces;
  /** Writes the Synced condition on Grants in the hub. */
  hub: Applier<typeof resources>;
  logger: Logger;
  metrics: ControllerMetrics;
  now?: () => Date;
  resyncIntervalMs?: number;
  /**
   * Whether this replica still holds the leader Lease, checked before every write to the
   * spoke, so a leader that stalled past its lease writes nothing after the new one began
   * (docs/adr/0022-connector-ha.md). Always true when absent (one replica).
   */
  holdsLease?: () => boolean;
}

const ownedBindingKey = (binding: Binding) => bindingKey(binding.metadata?.namespace, binding.roleRef.name);

/** The binding controller and the Grant status controller, started and stopped together. */
export interface RBACSync {
  start(): void;
  stop(): Promise<void>;
}

export function rbacSync(options: RBACSyncOptions): RBACSync {
  const { destination, grants, spoke, hub, logger, protectedNamespaces } = options;
  const now = options.now ?? (() => new Date());
  const spokeAPI = new RestClient(options.spokeConfig);
  let running = false;
  const syncedStatus = new SyncedStatus({ grants, hub, logger, metrics: options.metrics, now });

  // The informer holds the Grants labelled for this destination and those not labelled
  // yet (new ones, before the operator's label). Only a Grant whose spec.resource names this
  // destination is bound here: a label that disagrees (written by hand, or a bug) never
  // brings another destination's Grant in, and unlabelled Grants of other destinations
  // are left alone.
  const ours = (g: Grant) => grantDestination(g) === destination;
  const labelledOurs = (g: Grant) => g.metadata.labels?.[destinationLabel] === destination;
  grants.addIndex('binding', (g) => (ours(g) ? [grantBindingKey(g)] : []));
  grants.addIndex('namespace', (g) => (ours(g) ? [parseBindingKey(grantBindingKey(g)).namespace ?? ''].filter(Boolean) : []));
  grants.addIndex('role', (g) => (ours(g) ? [g.spec.role] : []));
  spoke.clusterRoleBindings.addIndex('binding', (b) => [ownedBindingKey(b)]);
  spoke.roleBindings.addIndex('binding', (b) => [ownedBindingKey(b)]);

  // Every reconcile checks its Grants against the spoke's roles and namespaces: the name
  // sets are built once per change, not once per reconcile (thousands on a cold start).
  const names = (informer: SpokeInformers['namespaces']) => {
    let cached: Set<string> | undefined;
    informer.onChange(() => (cached = undefined));
    return () => (cached ??= new Set(informer.list().map((o) => o.metadata!.name!)));
  };
  const roleNames = names(spoke.clusterRoles);
  const namespaceNames = names(spoke.namespaces);

  async function reconcile(key: BindingKey): Promise<{ requeueAfterMs?: number } | void> {
    if (!grants.hasSynced || !spoke.namespaces.hasSynced || !spoke.clusterRoles.hasSynced) {
      throw new Error("waiting for the first list of the hub's Grants and the spoke's namespaces and roles");
    }
    if (!protectedNamespaces.known) throw new Error("waiting for the Destination's allowGrantsIn from the hub");
    const { namespace, role } = parseBindingKey(key);
    const contributing = grants.byIndex('binding', key);
    const owned = (namespace ? spoke.roleBindings : spoke.clusterRoleBindings).byIndex('binding', key) as Binding[];
    const plan = planBinding({
      key,
      destination,
      contributing,
      owned,
      roles: roleNames(),
      namespaces: namespaceNames(),
      refusedNamespaces: protectedNamespaces.refused(),
      now: now(),
    });
    const debug = logger.isLevelEnabled('debug');
    if (debug) logger.debug({ key, writes: plan.writes.length, prune: plan.prune.length }, 'binding planned');
    for (const { name, subjects, exists } of plan.writes) {
      fence();
      if (debug) logger.debug({ key, binding: name }, 'binding write sent');
      await (exists ? applyBinding(name, namespace, role, subjects) : createBinding(name, namespace, role, subjects));
      if (debug) logger.debug({ key, binding: name }, 'binding written');
    }
    for (const name of plan.prune) {
      fence();
      await deleteBinding(owned.find((b) => b.metadata?.name === name)!);
      logger.info({ binding: `${namespace ?? ''}/${name}` }, 'pruned binding');
    }
    // The hub refuses Synced on a Grant not labelled for this destination yet (ADR 15);
    // the label's arrival reconciles the binding again (see the Grant handler below).
    for (const { grant, condition } of plan.synced) if (labelledOurs(grant)) syncedStatus.record(grant, condition);
    if (plan.requeueAfterMs !== undefined) return { requeueAfterMs: plan.requeueAfterMs };
  }

  function fence(): void {
    if (options.holdsLease && !options.holdsLease()) {
      throw new Error('this replica no longer holds the leader Lease: it writes no binding, the new leader reconciles this one');
    }
  }

  function bindingObject(name: string, namespace: string | undefined, role: string, subjects: RbacV1Subject[]) {
    return {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: namespace ? 'RoleBinding' : 'ClusterRoleBinding',
      metadata: { name, ...(namespace ? { namespace } : {}), labels: { [managedByLabel]: managedByValue } },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
      subjects,
    };
  }

  /** The path of a binding (with a name) or of the collection it belongs to. */
  const bindingPath = (namespace: string | undefined, name?: string) =>
    resourcePath('rbac.authorization.k8s.io', 'v1', namespace ? 'rolebindings' : 'clusterrolebindings', namespace, name);

  async function applyBinding(name: string, namespace: string | undefined, role: string, subjects: RbacV1Subject[]): Promise<void> {
    await spokeAPI.apply(bindingPath(namespace, name), bindingObject(name, namespace, role, subjects), fieldManager);
  }

  /**
   * A binding not in our cache: create it (one round trip, and no overwriting). If the
   * name is taken, it is ours when labelled so (the cache is behind): apply; otherwise it
   * belongs to someone else and stays as it is.
   */
  async function createBinding(name: string, namespace: string | undefined, role: string, subjects: RbacV1Subject[]): Promise<void> {
    try {
      await spokeAPI.create(bindingPath(namespace), bindingObject(name, namespace, role, subjects), fieldManager);
      return;
    } catch (err) {
      if (statusCode(err) !== 409) throw err;
    }
    const existing = await spokeAPI.get<Binding>(bindingPath(namespace, name));
    if (existing.metadata?.labels?.[managedByLabel] !== managedByValue) {
      throw new Error(
        `${namespace ? `RoleBinding ${namespace}/` : 'ClusterRoleBinding '}${name} exists but is not managed by Infra (no ${managedByLabel}=${managedByValue} label); rename or delete it so Infra can manage access for this role`,
      );
    }
    await applyBinding(name, namespace, role, subjects);
  }

  /**
   * Deletes the binding as the cache has it, and only that version of it: one rewritten
   * since (by a newer leader, or anyone) stays, with a 409 that retries on a fresher cache.
   */
  async function deleteBinding(binding: Binding): Promise<void> {
    const { name, namespace, uid, resourceVersion } = binding.metadata!;
    try {
      await spokeAPI.delete(bindingPath(namespace, name), { uid, resourceVersion });
    } catch (err) {
      if (statusCode(err) === 409) {
        throw new Error(`binding ${namespace ?? ''}/${name} changed since this replica read it; not deleted, retried on the current one`, { cause: err });
      }
      if (statusCode(err) !== 404) throw err;
    }
  }

  const controller = new Controller({
    name: 'rbac',
    logger,
    metrics: options.metrics,
    workers: bindingWorkers,
    reconcile,
    ...(options.resyncIntervalMs ? { resyncIntervalMs: options.resyncIntervalMs } : {}),
    resyncKeys: () =>
      new Set([...grants.indexValues('binding'), ...spoke.clusterRoleBindings.indexValues('binding'), ...spoke.roleBindings.indexValues('binding')]),
  });

  const lastSeen = new Map<string, { key: BindingKey; generation: number | undefined; labelled: boolean }>();
  grants.onChange((grant, event) => {
    const name = grant.metadata.name!;
    const previous = lastSeen.get(name);
    if (!ours(grant)) {
      if (event !== 'delete' && labelledOurs(grant)) {
        logger.warn({ grant: name, resource: grant.spec.resource }, `grant is labelled for destination ${destination} but its resource names another; ignored`);
      }
      // A Grant whose resource was edited away from this destination leaves its binding.
      if (previous !== undefined) controller.enqueue(previous.key);
      lastSeen.delete(name);
      syncedStatus.forget(name);
      return;
    }
    const key = grantBindingKey(grant);
    const labelled = labelledOurs(grant);
    // Same spec, same binding, same label: a status write (ours or the operator's), nothing
    // to bind. The label's arrival is not: Synced can be written from then on.
    if (event === 'update' && previous?.key === key && previous.generation === grant.metadata.generation && previous.labelled === labelled) return;
    controller.enqueue(key);
    if (previous !== undefined && previous.key !== key) controller.queue.addAfter(previous.key, moveDelayMs);
    if (event === 'delete') {
      lastSeen.delete(name);
      syncedStatus.forget(name);
    } else lastSeen.set(name, { key, generation: grant.metadata.generation, labelled });
  });
  const enqueueGrants = (index: string, value: string) => {
    for (const g of grants.byIndex(index, value)) controller.enqueue(grantBindingKey(g));
  };
  spoke.namespaces.onChange((ns) => enqueueGrants('namespace', ns.metadata!.name!));
  protectedNamespaces.onChange(() => {
    for (const ns of protectedNamespaces.names) enqueueGrants('namespace', ns);
  });
  spoke.clusterRoles.onChange((role) => enqueueGrants('role', role.metadata!.name!));
  // Someone edited or deleted a binding we own: put it back as the Grants say.
  spoke.clusterRoleBindings.onChange((b) => controller.enqueue(ownedBindingKey(b)));
  spoke.roleBindings.onChange((b) => controller.enqueue(ownedBindingKey(b)));
  return {
    // Until the hub's Grants are listed, a reconcile could only fail and back off: the
    // queue collects the keys meanwhile, and the workers start on a complete picture.
    // Access comes first: the Synced writes (one per Grant, to the hub) start once the
    // bindings have been reconciled, instead of competing with them for the API servers.
    start: () => {
      running = true;
      void grants.waitForSync().then(async () => {
        if (!running) return;
        controller.start();
        await controller.queue.whenIdle();
        if (running) syncedStatus.controller.start();
      });
    },
    stop: async () => {
      running = false;
      await Promise.all([controller.stop(), syncedStatus.controller.stop()]);
    },
  };
}

export interface BindingPlanInput {
  /** The binding (namespace, role) being reconciled. */
  key: BindingKey;
  destination: string;
  /** The Grants whose binding key this is. */
  contributing: readonly Grant[];
  /** The Infra-labelled bindings in the spoke for this key (every shard). */
  owned: readonly Binding[];
  /** ClusterRoles and namespaces that exist in the spoke. */
  roles: ReadonlySet<string>;
  namespaces: ReadonlySet<string>;
  /** Protected namespaces the Destination does not allow Grants in (protected-namespaces.ts). */
  refusedNamespaces?: ReadonlySet<string>;
  now: Date;
}

export interface BindingPlan {
  /** Shards to write, in order: server-side apply when the cache has one by that name, else create. Shards already right are left out. */
  writes: { name: string; subjects: RbacV1Subject[]; exists: boolean }[];
  /** Names of owned bindings no shard wants any more. */
  prune: string[];
  /** The Synced condition each contributing Grant should carry. */
  synced: { grant: Grant; condition: ConditionInput }[];
  /** When the next contributing Grant expires, if one does. */
  requeueAfterMs?: number;
}

/**
 * What one binding's reconcile does, decided from the hub's Grants and the spoke's
 * cached bindings, roles and namespaces; pure, for tests. Only owned (Infra-labelled)
 * bindings are ever pruned.
 */
export function planBinding({ key, destination, contributing, owned, roles, namespaces, refusedNamespaces, now }: BindingPlanInput): BindingPlan {
  const { namespace, role } = parseBindingKey(key);
  const problems = new Map(contributing.map((g) => [g.metadata.name!, syncProblem(g, destination, roles, namespaces, now, refusedNamespaces)]));
  const bindable = contributing.filter((g) => problems.get(g.metadata.name!) === undefined);
  const shards = shardSubjects(bindable);

  const writes: BindingPlan['writes'] = [];
  const wanted = new Set<string>();
  for (const [shard, subjects] of shards.entries()) {
    const name = bindingName(role, shard);
    wanted.add(name);
    const current = owned.find((b) => b.metadata?.name === name);
    if (current && sameSubjects(current.subjects, subjects)) continue;
    writes.push({ name, subjects, exists: current !== undefined });
  }
  const prune = owned.filter((b) => !wanted.has(b.metadata!.name!)).map((b) => b.metadata!.name!);

  // One condition for every Grant the binding holds: thousands wait in the status queue at once.
  const bound = boundCondition(destination, namespace, role);
  const synced = contributing.map((grant) => {
    const problem = problems.get(grant.metadata.name!);
    return { grant, condition: problem ? unsyncedCondition(problem) : bound };
  });
  const nextExpiry = Math.min(...contributing.map((g) => expiresAtMs(g) ?? Infinity).filter((t) => t > now.getTime()));
  return { writes, prune, synced, ...(Number.isFinite(nextExpiry) ? { requeueAfterMs: nextExpiry - now.getTime() } : {}) };
}

function unsyncedCondition(problem: NonNullable<ReturnType<typeof syncProblem>>): ConditionInput {
  return { type: 'Synced', status: 'False', reason: problem.reason, message: problem.message };
}

function boundCondition(destination: string, namespace: string | undefined, role: string): ConditionInput {
  return {
    type: 'Synced',
    status: 'True',
    reason: 'Bound',
    message: `bound by ${namespace ? `RoleBinding ${namespace}/` : 'ClusterRoleBinding '}${bindingName(role, 0)} in ${destination}`,
  };
}

function sameSubjects(current: readonly RbacV1Subject[] | undefined, desired: readonly RbacV1Subject[]): boolean {
  const key = (s: RbacV1Subject) => `${s.kind}/${s.apiGroup ?? ''}/${s.namespace ?? ''}/${s.name}`;
  return JSON.stringify((current ?? []).map(key)) === JSON.stringify(desired.map(key));
}
