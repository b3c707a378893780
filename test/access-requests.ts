// A transition as the AccessRequest controller would hand one to the notifier, for tests.
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
