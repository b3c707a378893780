// What the notifier is told: one change of an AccessRequest's state, as the transitions
// module (operator/requests/transitions.ts) stored it, and when.
import type { AccessRequest, AccessRequestStatus } from '../../../api/v1alpha1/types.ts';
import type { Transition as StoredTransition } from '../transitions.ts';

export { transitionTypes, type TransitionType } from '../transitions.ts';

export type { AccessRequest };
export type AccessRequestReview = NonNullable<AccessRequestStatus['reviews']>[number];

export interface Transition extends StoredTransition {
  at: Date;
}
