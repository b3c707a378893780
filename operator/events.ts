// Kubernetes Events about a User (logged in, locked out, password or access key changed,
// groups changed upstream) or a Grant, as the auth API, the identity providers and the
// controllers record them: lib/events.ts's Events in the operator, a fake in tests.
//
// Events about cluster-scoped objects live in `default`, which far more people may read
// than may read Users or the audit log. So an Event names objects, never a person's email
// or a client's address: the call sites say "the user" or "an Infra admin" and leave who
// and from where to the audit log, and withoutPersonalData is the net under them.
import { isIP } from 'node:net';
import type { KubernetesObject } from '@kubernetes/client-node';
import type { User } from '../api/v1alpha1/types.ts';

export interface EventRecorder {
  record(user: User, type: 'Normal' | 'Warning', reason: string, message: string): void;
}

/** What records an Event about any object: lib/events.ts's Events. */
export interface ObjectEventRecorder {
  record(object: KubernetesObject, type: 'Normal' | 'Warning', reason: string, message: string): void;
}

const emailLike = /[^\s@<>()[\]"'`,;:]+@[^\s@<>()[\]"'`,;:]+\.[^\s@<>()[\]"'`,;:]+/g;
const addressLike = /\[?[0-9A-Fa-f:.]*[.:][0-9A-Fa-f:.]*\]?/g;

/** The message with anything shaped like an email or an IP address replaced by a placeholder. */
export function redactPersonalData(message: string): string {
  return message.replace(emailLike, '[email]').replace(addressLike, (candidate) => {
    const bare = candidate.replace(/^\[|\]$/g, '').replace(/\.$/, '');
    return isIP(bare) ? candidate.replace(bare, '[address]') : candidate;
  });
}

/** A recorder that redacts every message before it becomes an Event. */
export function withoutPersonalData(events: ObjectEventRecorder): ObjectEventRecorder {
  return { record: (object, type, reason, message) => events.record(object, type, reason, redactPersonalData(message)) };
}
