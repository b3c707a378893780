// What the operator, the CLI and the hub's admission policy agree on about AccessRequests:
// the annotation that carries who asked, the label that ties a Grant to the request that
// made it, and which states are final.
import type { AccessRequest, AccessRequestStatus } from './v1alpha1/types.ts';

/**
 * Who asked: set by the management API from the caller's Infra identity, or pinned by the
 * hub's admission policy to the hub username of whoever creates the object with kubectl
 * (config/admission/access-requests.yaml). The operator copies it into status.requester.
 */
export const requesterAnnotation = 'infrahq.com/requester';

/** On a Grant made by an approval: the name of the AccessRequest that owns it. */
export const accessRequestLabel = 'infrahq.com/access-request';

export type RequestState = NonNullable<AccessRequestStatus['state']>;

/** States a request never leaves: the operator deletes it a retention period after it got there. */
export const endedStates: readonly RequestState[] = ['Denied', 'Expired', 'Cancelled', 'Revoked'];

export function requestState(request: AccessRequest): RequestState | undefined {
  return request.status?.state;
}

export function hasEnded(request: AccessRequest): boolean {
  const state = requestState(request);
  return state !== undefined && endedStates.includes(state);
}

/** Emails compare in any case, as Infra's own logins do. */
export function sameUser(a: string | undefined, b: string | undefined): boolean {
  return a !== undefined && b !== undefined && a.toLowerCase() === b.toLowerCase();
}
