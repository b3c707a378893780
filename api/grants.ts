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

export function isExpired(grant: Grant, now: Date): boolean {
  return grant.spec.expiresAt !== undefined && Date.parse(grant.spec.expiresAt) <= now.getTime();
}
