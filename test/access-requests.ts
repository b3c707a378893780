// Access-request fixtures: a transition as the AccessRequest controller would hand one to
// the notifier, and the AccessPolicy the end-to-end suites request under.
import type { AccessPolicy } from '../api/v1alpha1/types.ts';
import type { AccessRequest, Transition, TransitionType } from '../operator/requests/notifications/transition.ts';

export function accessRequest(overrides: Partial<AccessRequest['status']> = {}, spec: Partial<AccessRequest['spec']> = {}): AccessRequest {
  return {
    apiVersion: 'infrahq.com/v1alpha1',
    kind: 'AccessRequest',
    metadata: { name: 'alice-edit-production-web-x7k2p' },
    spec: { role: 'edit', resource: 'production.web', duration: '2h', reason: 'INC-4312: roll back the web deploy', ...spec },
    status: { state: 'Pending', requester: 'alice@example.com', policy: 'production-oncall', ...overrides },
  };
}

export function transition(type: TransitionType, request: AccessRequest = accessRequest()): Transition {
  return { type, request, at: new Date('2026-12-03T13:30:00Z') };
}

/**
 * A policy under which these requesters may ask for view on the destination or any of its
 * namespaces, for at most an hour and with a reason, and one of these approvers approves.
 */
export function viewAccessPolicy(name: string, destination: string, people: { requesters: string[]; approvers: string[] }): AccessPolicy {
  return {
    apiVersion: 'infrahq.com/v1alpha1',
    kind: 'AccessPolicy',
    metadata: { name },
    spec: {
      resources: [destination, `${destination}.*`],
      roles: ['view'],
      requesters: { users: people.requesters },
      maxDuration: '1h',
      requireReason: true,
      approvers: { users: people.approvers },
      approvalsRequired: 1,
    },
  };
}
