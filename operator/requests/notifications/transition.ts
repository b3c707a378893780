// What the notifier is told: one change of an AccessRequest's state. The AccessRequest
// shape here is the agreed one (issue 25); the generated type from crds/ replaces it when
// the AccessRequest kind lands.

export type AccessRequestState = 'Pending' | 'Approved' | 'Denied' | 'Expired' | 'Cancelled' | 'Revoked';

export interface AccessRequestReview {
  user: string;
  time: string;
  decision: string;
  comment?: string;
}

export interface AccessRequest {
  apiVersion?: string;
  kind?: string;
  metadata: { name?: string; [key: string]: unknown };
  spec: { role: string; resource: string; duration: string; reason?: string };
  status?: {
    state?: AccessRequestState;
    requester?: string;
    reviews?: AccessRequestReview[];
    grant?: string;
    expiresAt?: string;
    policy?: string;
  };
}

export const transitionTypes = ['new', 'approved', 'denied', 'expired', 'revoked', 'cancelled'] as const;
export type TransitionType = (typeof transitionTypes)[number];

export interface Transition {
  type: TransitionType;
  request: AccessRequest;
  at: Date;
}
