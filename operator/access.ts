// Who someone is and what they may reach, answered from the hub's caches.
import type { AccessReviewStatus } from '../api/auth/v1alpha1/types.ts';
import {
  grantDestination,
  grantNamespace,
  groupSource,
  hubGroupSource,
  infraResource,
  isExpired,
  isGroupName,
  isReservedSubject,
  sourcedGroup,
} from '../api/grants.ts';
import type { Destination, Grant } from '../api/v1alpha1/types.ts';
import { grantIndex, groupSubject, userIndex, userSubject, type Hub } from './hub.ts';

export interface Identity {
  email: string;
  groups: string[];
  /**
   * Match the email to Users, Group members, Grants and bootstrap admins exactly. Set for a
   * hub username: Kubernetes compares usernames exactly, so Admin@Example.com in the hub is
   * someone else than admin@example.com. Infra's own logins match emails in any case.
   */
  exactEmail?: boolean;
}

/** Whether an email written in a User, Group, Grant or the config names this identity. */
function namesIdentity(identity: Pick<Identity, 'email' | 'exactEmail'>, email: string): boolean {
  return identity.exactEmail ? email === identity.email : email.toLowerCase() === identity.email.toLowerCase();
}

/**
 * Completes an identity: the groups the hub's authenticator sent (as `hub:<group>`), the
 * User's identity provider groups (`<provider>:<group>`, of Providers that still exist),
 * and built-in Group memberships. Kubernetes' own system: groups (system:authenticated,
 * …) are not Infra groups and are dropped.
 */
export function resolveIdentity(hub: Hub, email: string, hubGroups: readonly string[] = [], { exactEmail = false } = {}): Identity {
  const caller = { email, exactEmail };
  const user = hub.users.byIndex(userIndex.byEmail, email.toLowerCase()).find((u) => namesIdentity(caller, u.spec.email));
  const fromHub = hubGroups.filter((g) => !isReservedSubject(g)).map((g) => sourcedGroup(hubGroupSource, g));
  const fromProviders = (user?.status?.groups ?? []).filter((g) => {
    const source = groupSource(g);
    return source !== undefined && source !== hubGroupSource && hub.providers.get(source) !== undefined;
  });
  const builtIn = hub.builtInGroups(email).filter((name) => hub.groups.get(name)?.spec.members?.some((m) => namesIdentity(caller, m)));
  const all = new Set([...fromHub, ...fromProviders, ...builtIn]);
  return { email, groups: [...all].filter((g) => isGroupName(g) && !isReservedSubject(g)).sort(), ...(exactEmail ? { exactEmail } : {}) };
}

/** Every unexpired Grant that applies to the identity, directly or through a group. */
export function grantsFor(hub: Hub, identity: Identity, now = new Date()): Grant[] {
  const subjects = [userSubject(identity.email), ...identity.groups.map(groupSubject)];
  return subjects
    .flatMap((s) => hub.grants.byIndex(grantIndex.bySubject, s))
    .filter((g) => !isExpired(g, now) && (g.spec.user === undefined || namesIdentity(identity, g.spec.user)));
}

export function grantsOnDestination(hub: Hub, identity: Identity, destination: string, now = new Date()): Grant[] {
  return grantsFor(hub, identity, now).filter((g) => grantDestination(g) === destination);
}

/**
 * Who a token for a destination says the caller is: their email, and only the groups their
 * Grants there name (on the destination or any of its namespaces). Any other group could
 * match a binding in the spoke that Infra never made, e.g. kubeadm's kubeadm:cluster-admins
 * (docs/adr/0008-token-groups.md).
 */
export function tokenIdentity(identity: Identity, grantsOnDestination: readonly Grant[]): Identity {
  const granted = new Set(grantsOnDestination.flatMap((g) => (g.spec.group === undefined ? [] : [g.spec.group])));
  return { email: identity.email, groups: identity.groups.filter((g) => granted.has(g)) };
}

export type InfraRole = 'admin' | 'view';

/** The identity's role on Infra itself: a Grant on resource `infra`, or a bootstrap admin. */
export function infraRole(hub: Hub, identity: Identity, bootstrapAdmins: readonly string[], now = new Date()): InfraRole | undefined {
  if (bootstrapAdmins.some((a) => namesIdentity(identity, a))) return 'admin';
  const roles = grantsOnDestination(hub, identity, infraResource, now).map((g) => g.spec.role);
  if (roles.includes('admin')) return 'admin';
  if (roles.includes('view')) return 'view';
  return undefined;
}

/** One destination in an AccessReview: the data behind `infra list`. */
export type DestinationAccess = AccessReviewStatus['destinations'][number];

/** What `infra list` shows: each destination the identity can reach and with which roles. */
export function accessSummary(hub: Hub, identity: Identity, now = new Date()): DestinationAccess[] {
  const byDestination = new Map<string, DestinationAccess>();
  for (const grant of grantsFor(hub, identity, now)) {
    const name = grantDestination(grant);
    if (name === infraResource) continue;
    let entry = byDestination.get(name);
    if (!entry) {
      const destination = hub.destinations.get(name);
      entry = {
        name,
        connected: destination?.status?.connected ?? false,
        clusterRoles: [],
        namespaces: [],
        ...(destination ? kubectlEndpoint(destination) : {}),
      };
      byDestination.set(name, entry);
    }
    const namespace = grantNamespace(grant);
    if (namespace === undefined) addUnique(entry.clusterRoles, grant.spec.role);
    else {
      let ns = entry.namespaces.find((n) => n.name === namespace);
      if (!ns) entry.namespaces.push((ns = { name: namespace, roles: [] }));
      addUnique(ns.roles, grant.spec.role);
    }
  }
  const sorted = [...byDestination.values()].sort((a, b) => a.name.localeCompare(b.name));
  for (const entry of sorted) {
    entry.clusterRoles.sort();
    entry.namespaces.sort((a, b) => a.name.localeCompare(b.name));
    for (const ns of entry.namespaces) ns.roles.sort();
  }
  return sorted;
}

/**
 * Where kubectl goes for a destination: its connector's proxy, or with Direct trust its API
 * server (as the connector reports it), which verifies Infra tokens itself. Resolved here
 * rather than in the CLI so every CLI, old ones too, writes the right context; trust is
 * said only when Direct, so proxy answers stay as they were.
 */
export function kubectlEndpoint(destination: Destination): Pick<DestinationAccess, 'url' | 'caBundle' | 'trust'> {
  if (destination.spec.trust === 'Direct') {
    const apiServer = destination.status?.apiServer;
    return { trust: 'Direct', ...(apiServer ? { url: apiServer.url, ...(apiServer.caBundle ? { caBundle: apiServer.caBundle } : {}) } : {}) };
  }
  return {
    ...(destination.spec.url ? { url: destination.spec.url } : {}),
    ...(destination.spec.caBundle ? { caBundle: destination.spec.caBundle } : {}),
  };
}

function addUnique(list: string[], value: string): void {
  if (!list.includes(value)) list.push(value);
}
