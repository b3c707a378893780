// What the operator, the connector and the CLI agree on about Grants and Destinations:
// the names a destination may have, how a Grant's resource names a destination and a
// namespace, when a Grant has expired, and the label that ties a Grant to its destination.
import type { Grant } from './v1alpha1/types.ts';

/** A Kubernetes DNS label (RFC 1123): destination, namespace and key names. */
export const dnsLabel = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** The reserved resource that governs access to Infra itself; no destination may take its name. */
export const infraResource = 'infra';

/** Set by the operator on every Grant, so a connector watches only its destination's Grants. */
export const destinationLabel = 'infrahq.com/destination';

/** Why a name cannot be a destination's, or undefined when it can. */
export function destinationNameProblem(name: string): string | undefined {
  if (!dnsLabel.test(name)) return "must be a DNS label (lowercase letters, digits and -), e.g. production: it is the first part of a Grant's resource";
  if (name === infraResource) return `"${infraResource}" is reserved for access to Infra itself; pick another name`;
  return undefined;
}

/** `production.web` → destination production, namespace web; `production` → no namespace. */
export function parseResource(resource: string): { destination: string; namespace: string | undefined } {
  const [destination, namespace] = resource.split('.');
  return { destination: destination!, namespace };
}

/** The destination part of a Grant's resource: `production` of `production.web`. */
export function grantDestination(grant: Grant): string {
  return parseResource(grant.spec.resource).destination;
}

/** The namespace part of a Grant's resource, or undefined for a cluster-wide Grant. */
export function grantNamespace(grant: Grant): string | undefined {
  return parseResource(grant.spec.resource).namespace;
}

// RFC 3339 date-time, with an offset a parser can apply (the CRD's date-time format alone
// lets through offsets such as +99:99, which Date.parse reads as NaN).
const rfc3339 = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])[Tt]([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d+)?([Zz]|[+-]([01]\d|2[0-3]):[0-5]\d)$/;

/**
 * When the Grant's access ends, in ms since the epoch; undefined when it does not expire.
 * An expiresAt that is not a valid RFC 3339 timestamp ends access at once: expiry fails
 * closed, never open.
 */
export function expiresAtMs(grant: Grant): number | undefined {
  const { expiresAt } = grant.spec;
  if (expiresAt === undefined) return undefined;
  const ms = rfc3339.test(expiresAt) ? Date.parse(expiresAt) : NaN;
  return Number.isNaN(ms) ? -Infinity : ms;
}

export function isExpired(grant: Grant, now: Date): boolean {
  const end = expiresAtMs(grant);
  return end !== undefined && end <= now.getTime();
}

// The CRD's rule for spec.group: no control characters, no space of any kind at either end.
const groupNamePattern = /^[^\s\p{Z}\p{Cc}]([^\p{Cc}]*[^\s\p{Z}\p{Cc}])?$/u;

/**
 * Whether a Grant can name this group. A group an identity provider reports that no
 * Grant can name is dropped where it enters Infra: " system:masters" would otherwise
 * reach a spoke's API server, which trims the spaces around a header value.
 */
export function isGroupName(name: string): boolean {
  return name.length <= 256 && groupNamePattern.test(name);
}

/** Kubernetes' own users and groups (system:authenticated, system:serviceaccounts, …): never granted. */
export function isReservedSubject(name: string): boolean {
  return name.startsWith('system:');
}

/**
 * The source of the groups the hub's own authenticator reports for a caller at the
 * aggregated door (`hub:oncall`). No Provider may take this name, nor `system`.
 */
export const hubGroupSource = 'hub';

/**
 * A group as Grants name it and tokens carry it: `<source>:<group>`, where the source is
 * the Provider that reported it (or `hub`). Names from different sources never meet, so
 * no identity provider can claim another's group (docs/adr/0009-group-sources.md). A
 * built-in Group has no source: its metadata.name is a DNS name, which has no colon.
 */
export function sourcedGroup(source: string, group: string): string {
  return `${source}:${group}`;
}

/** The source of a group name (`okta` in `okta:Engineering`); undefined for a built-in Group. */
export function groupSource(name: string): string | undefined {
  const colon = name.indexOf(':');
  return colon > 0 ? name.slice(0, colon) : undefined;
}

/** A status condition before the writer stamps its generation and transition time (lib/conditions.ts). */
export interface GrantConditionInput {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
}

/**
 * A Grant's Ready condition, and for a not-Ready one whether it waits for something that
 * comes by itself or is stalled until a person acts (kstatus's Reconciling and Stalled).
 */
export interface GrantReadiness {
  ready: GrantConditionInput;
  notReady?: 'waiting' | 'stalled';
}

/**
 * The readiness a Grant's spec alone decides, whatever its destination says: a reserved
 * subject is never bound, an expired Grant grants nothing. Undefined when its destination
 * decides.
 */
export function specReadiness(grant: Grant, now: Date): GrantReadiness | undefined {
  const subject = grant.spec.user ?? grant.spec.group ?? '';
  if (isReservedSubject(subject)) {
    const message = `${subject} is one of Kubernetes' own groups: it is never bound at a destination; grant an Infra or identity provider group instead`;
    return { ready: { type: 'Ready', status: 'False', reason: 'ReservedSubject', message }, notReady: 'stalled' };
  }
  if (!isExpired(grant, now)) return undefined;
  const message =
    expiresAtMs(grant) === -Infinity
      ? `spec.expiresAt "${grant.spec.expiresAt}" is not an RFC 3339 timestamp, so the Grant counts as expired; write it like 2030-01-31T18:00:00Z`
      : `the Grant expired at ${grant.spec.expiresAt}; delete it, or set a later spec.expiresAt to restore access`;
  return { ready: { type: 'Ready', status: 'False', reason: 'Expired', message }, notReady: 'stalled' };
}

/** "access until …" for a Grant that expires; undefined for one that does not. */
export function accessUntil(grant: Grant): string | undefined {
  return grant.spec.expiresAt ? `access until ${grant.spec.expiresAt}` : undefined;
}

/**
 * The readiness a Synced condition implies for a Grant whose destination's connector is
 * connected: Ready only once it reports the Grant's current generation bound, so a GitOps
 * tool does not call it healthy before anyone has access. The operator derives Ready from
 * it, and the connector writes it beside Synced in the same request, so the operator finds
 * it current and a bound Grant costs the hub one status write, not two
 * (docs/adr/0027-grant-readiness-ownership.md).
 */
export function syncedReadiness(
  grant: Grant,
  synced: (Pick<GrantConditionInput, 'status' | 'reason' | 'message'> & { observedGeneration?: number | undefined }) | undefined,
): GrantReadiness {
  const destination = grantDestination(grant);
  const generation = grant.metadata.generation;
  if (synced === undefined || synced.observedGeneration !== generation || synced.status === 'Unknown') {
    const message = `waiting for the connector of destination ${destination} to bind generation ${generation ?? 0} of this Grant`;
    return { ready: { type: 'Ready', status: 'False', reason: 'AwaitingSync', message }, notReady: 'waiting' };
  }
  const until = accessUntil(grant);
  if (synced.status === 'True')
    return { ready: { type: 'Ready', status: 'True', reason: 'Bound', message: until ? `${synced.message}; ${until}` : synced.message } };
  // A namespace that does not exist yet is bound as soon as it does; any other refusal needs a person.
  return {
    ready: { type: 'Ready', status: 'False', reason: synced.reason, message: `destination ${destination} cannot bind it: ${synced.message}` },
    notReady: synced.reason === 'NamespaceNotFound' ? 'waiting' : 'stalled',
  };
}
