// Kubernetes Events about a User (logged in, locked out, password or access key changed,
// groups changed upstream), as the auth API and the identity providers record them:
// lib/events.ts's Events in the operator, a fake in tests.
import type { User } from '../api/v1alpha1/types.ts';

export interface EventRecorder {
  record(user: User, type: 'Normal' | 'Warning', reason: string, message: string): void;
}
