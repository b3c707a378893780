// Grant controller: labels each Grant with its destination (so a connector watches only
// its own), reports whether its destination and subject are known and whether the
// destination's connector has bound it, and expires it on time. Access itself is
// enforced where it is used: token issuance skips expired Grants and connectors drop
// their bindings.
import { resources, type Grant, type GrantStatus } from '../../api/v1alpha1/types.ts';
import type { AuditRecord } from '../../lib/audit.ts';
import type { Controller } from '../../lib/controller/controller.ts';
import { conditionsCurrent, findCondition, mergeConditions, readiness, type ConditionInput } from '../../lib/conditions.ts';
import {
  accessUntil,
  destinationLabel,
  expiresAtMs,
  grantDestination,
  groupSource,
  hubGroupSource,
  infraResource,
  isExpired,
  specReadiness,
  syncedReadiness,
} from '../../api/grants.ts';
import { grantIndex, groupSubject, userIndex, userSubject, type Hub } from '../hub.ts';
import { kindController, writeStatus, type ControllerContext } from './context.ts';
import { destinationConnection } from './destination.ts';

/** The conditions a Grant should carry now; pure, for tests. */
export function grantConditions(grant: Grant, hub: Pick<Hub, 'destinations' | 'userByEmail' | 'groups' | 'users' | 'providers'>, now: Date): ConditionInput[] {
  const destination = grantDestination(grant);
  const subject: ConditionInput =
    grant.spec.user !== undefined
      ? hub.userByEmail(grant.spec.user)
        ? { type: 'SubjectFound', status: 'True', reason: 'UserFound', message: `user ${grant.spec.user} exists` }
        : {
            type: 'SubjectFound',
            status: 'False',
            reason: 'UserNotFound',
            message: `no User has email ${grant.spec.user} yet; the Grant applies once they log in or an admin creates them`,
          }
      : groupSubjectCondition(hub, grant.spec.group!);

  const decided = specReadiness(grant, now);
  const ready = decided ? readiness(decided.ready, decided.notReady) : destinationReadiness(grant, destination, hub, now);
  return [...ready, subject];
}

/**
 * Ready as the destination sees the Grant: what its connector's Synced condition implies
 * (api/grants.ts) once the destination is there and connected. The reserved resource
 * infra has no connector: a valid Grant on it is Ready at once.
 */
function destinationReadiness(grant: Grant, destination: string, hub: Pick<Hub, 'destinations'>, now: Date): ConditionInput[] {
  if (destination === infraResource) return readiness({ type: 'Ready', status: 'True', reason: 'Valid', message: accessUntil(grant) ?? 'access granted' });
  const found = hub.destinations.get(destination);
  if (!found) {
    return readiness(
      {
        type: 'Ready',
        status: 'False',
        reason: 'DestinationNotFound',
        message: `no Destination named ${destination}; check spec.resource, or add that cluster (docs/connector.md): it appears when its connector registers`,
      },
      'stalled',
    );
  }
  const connection = destinationConnection(found, now);
  if (!connection.connected) {
    const lastSeenAt = found.status?.lastSeenAt;
    return Number.isNaN(Date.parse(lastSeenAt ?? ''))
      ? readiness(
          {
            type: 'Ready',
            status: 'False',
            reason: 'AwaitingConnector',
            message: `destination ${destination} has no connector yet; the Grant is bound once one registers there (docs/connector.md)`,
          },
          'waiting',
        )
      : readiness(
          {
            type: 'Ready',
            status: 'False',
            reason: 'DestinationDisconnected',
            message: `destination ${destination} is disconnected: no heartbeat from its connector since ${lastSeenAt}, so nothing there can be bound or checked; check the connector's logs in that cluster`,
          },
          'stalled',
        );
  }
  const implied = syncedReadiness(grant, findCondition(grant.status?.conditions, 'Synced'));
  return readiness(implied.ready, implied.notReady);
}

/** The field manager (kubectl, argocd-controller, infra-cli, …) that last wrote the spec. */
function lastManager(grant: Grant): string | undefined {
  const spec = (grant.metadata.managedFields ?? []).filter((f) => f.subresource !== 'status' && f.manager !== 'infra-operator');
  return spec.sort((a, b) => String(a.time ?? '').localeCompare(String(b.time ?? ''))).at(-1)?.manager;
}

/** The verb of an informer event, for the audit line. */
const changeVerbs = { add: 'create', update: 'update', delete: 'delete' } as const;

/**
 * The audit line of a Grant change the operator saw (a create, update or delete; an
 * expiry). Who sent it is the hub's audit log's to say (the line names the field manager
 * that last wrote its spec): this line says what access changed, from when.
 */
function grantChange(grant: Grant, verb: 'create' | 'update' | 'delete' | 'expire'): AuditRecord {
  const name = grant.metadata.name!;
  const { user, group, role, resource, expiresAt } = grant.spec;
  const manager = lastManager(grant);
  const { group: apiGroup, version: apiVersion, plural } = resources.Grant;
  return {
    requestURI: `/apis/${apiGroup}/${apiVersion}/${plural}/${name}`,
    verb,
    user: {},
    objectRef: { resource: plural, name, apiGroup, apiVersion },
    code: 200,
    annotations: {
      'infrahq.com/subject': user !== undefined ? `user:${user}` : `group:${group ?? ''}`,
      'infrahq.com/role': role,
      'infrahq.com/resource': resource,
      ...(expiresAt !== undefined ? { 'infrahq.com/expires-at': expiresAt } : {}),
      ...(manager !== undefined ? { 'infrahq.com/field-manager': manager } : {}),
    },
  };
}

/** Whether the group a Grant names is known: a built-in Group, a Provider's group someone logged in with, or a hub group. */
function groupSubjectCondition(hub: Pick<Hub, 'groups' | 'users' | 'providers'>, name: string): ConditionInput {
  const found = (reason: string, message: string): ConditionInput => ({ type: 'SubjectFound', status: 'True', reason, message });
  const missing = (reason: string, message: string): ConditionInput => ({ type: 'SubjectFound', status: 'False', reason, message });
  const source = groupSource(name);
  if (source === undefined) {
    if (hub.groups.get(name)) return found('GroupFound', `built-in Group ${name} exists`);
    return missing(
      'GroupNotFound',
      `no built-in Group is named ${name}; the Grant applies once one is. A group from an identity provider is named after its Provider, <provider>:<group>, e.g. okta:${name} (docs/identity-providers.md#group-names)`,
    );
  }
  const group = name.slice(source.length + 1);
  if (source === hubGroupSource) return found('HubGroup', `applies to hub identities the hub's authenticator puts in group ${group}, at the aggregated door`);
  if (!hub.providers.get(source)) {
    return missing(
      'ProviderNotFound',
      `no Provider is named ${source}; the Grant applies to group ${group} once Provider ${source} exists and its users log in`,
    );
  }
  if (hub.users.byIndex(userIndex.byIdPGroup, name).length > 0) return found('GroupFound', `users logged in through ${source} are in group ${group}`);
  return missing('GroupNotFound', `no user has logged in through ${source} with group ${group} yet; the Grant applies once one does`);
}

export function grantController(ctx: ControllerContext): Controller {
  const { hub, applier, events, audit, auditTrail } = ctx;
  const controller = kindController(ctx, 'grant', hub.grants, async (name) => {
    const grant = hub.grants.get(name);
    if (!grant) return;
    const now = ctx.now();
    const destination = grantDestination(grant);
    if (grant.metadata.labels?.[destinationLabel] !== destination) {
      ctx.logger.debug({ grant: name, destination }, 'labelling grant');
      await applier.apply('Grant', name, { metadata: { labels: { [destinationLabel]: destination } } });
      ctx.logger.debug({ grant: name, destination }, 'grant labelled');
      // The status is written from the labelled version, which the label's watch event brings.
      return;
    }

    const expired = isExpired(grant, now);
    const conditions = grantConditions(grant, hub, now);
    const generation = grant.metadata.generation;
    const status = grant.status ?? {};
    const expiryCurrent = expired ? status.expired === true && status.expiredAt !== undefined : status.expired !== true;
    if (!conditionsCurrent(status.conditions, conditions, generation) || !expiryCurrent || status.observedGeneration !== generation) {
      const next: GrantStatus = {
        observedGeneration: generation,
        conditions: mergeConditions(status.conditions, conditions, generation, now),
        expired,
        ...(expired ? { expiredAt: status.expiredAt ?? now.toISOString() } : {}),
      };
      if (!(await writeStatus(ctx, 'Grant', grant, next))) return;
      if (expired && status.expired !== true) {
        auditTrail.record(grantChange(grant, 'expire'));
        audit.info(
          { action: 'grant.expired', grant: name, subject: grant.spec.user ?? grant.spec.group, role: grant.spec.role, resource: grant.spec.resource },
          'grant expired',
        );
        events.record(grant, 'Normal', 'Expired', `access as ${grant.spec.role} on ${grant.spec.resource} expired at ${grant.spec.expiresAt}`);
      }
    }
    const end = expiresAtMs(grant);
    if (!expired && end !== undefined) return { requeueAfterMs: Math.max(0, end - now.getTime()) };
  });

  const seenGenerations = new Map<string, number | undefined>();
  hub.grants.onChange((grant, event) => {
    const name = grant.metadata.name!;
    controller.enqueue(name);
    // The first list replays every Grant as an add: that is not a change to audit.
    const previous = seenGenerations.get(name);
    if (event === 'delete') seenGenerations.delete(name);
    else seenGenerations.set(name, grant.metadata.generation);
    if (!hub.grants.hasSynced || (event === 'update' && previous === grant.metadata.generation)) return;
    const action = { add: 'grant.created', update: 'grant.updated', delete: 'grant.deleted' }[event];
    auditTrail.record(grantChange(grant, changeVerbs[event]));
    audit.info(
      {
        action,
        grant: name,
        by: lastManager(grant),
        subject: grant.spec.user ?? grant.spec.group,
        role: grant.spec.role,
        resource: grant.spec.resource,
        expiresAt: grant.spec.expiresAt,
      },
      action,
    );
  });
  const enqueueGrants = (index: string, value: string) => {
    for (const g of hub.grants.byIndex(index, value)) controller.enqueue(g.metadata.name!);
  };
  hub.destinations.onChange((d) => enqueueGrants(grantIndex.byDestination, d.metadata.name!));
  hub.users.onChange((u) => {
    enqueueGrants(grantIndex.bySubject, userSubject(u.spec.email));
    for (const g of u.status?.groups ?? []) enqueueGrants(grantIndex.bySubject, groupSubject(g));
  });
  hub.groups.onChange((g) => enqueueGrants(grantIndex.bySubject, groupSubject(g.metadata.name!)));
  hub.providers.onChange((p) => {
    for (const g of hub.grants.list()) if (g.spec.group !== undefined && groupSource(g.spec.group) === p.metadata.name) controller.enqueue(g.metadata.name!);
  });
  return controller;
}
