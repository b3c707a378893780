// What every operator controller is given.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Applier } from '../../lib/apply.ts';
import { Controller, type ControllerMetrics, type Reconciler } from '../../lib/controller/controller.ts';
import type { Informer } from '../../lib/controller/informer.ts';
import { statusCode } from '../../lib/kube.ts';
import type { ObjectEventRecorder } from '../events.ts';
import type { AuditLog } from '../../lib/audit.ts';
import type { Logger } from '../../lib/log.ts';
import type { Hub } from '../hub.ts';
import type { Notifier } from '../requests/notifications/notifications.ts';
import type { ReadStoredSecret } from '../secret-refs.ts';
import type { resources } from '../../api/v1alpha1/types.ts';

export interface ControllerContext {
  hub: Hub;
  applier: Applier<typeof resources>;
  events: ObjectEventRecorder;
  metrics: ControllerMetrics;
  logger: Logger;
  /** Who did what, when: one line per grant change, login and token. */
  audit: Logger;
  /** The audit.k8s.io Event lines (lib/audit.ts): one per Grant change. */
  auditTrail: AuditLog;
  readSecret: (name: string, key: string) => Promise<string | undefined>;
  readStoredSecret: ReadStoredSecret;
  /** Tells the configured webhooks about an AccessRequest transition, in the background. */
  notifications: Notifier;
  now: () => Date;
  resyncIntervalMs?: number;
}

export const fieldManager = 'infra-operator';

/**
 * A controller for one kind: keyed by object name, fed by the kind's informer, resynced
 * over every cached object (plus any extra keys, e.g. owners of leftover credentials).
 */
export function kindController<T extends KubernetesObject>(
  ctx: ControllerContext,
  name: string,
  informer: Informer<T>,
  reconcile: Reconciler,
  extraResyncKeys: () => Iterable<string> = () => [],
): Controller {
  const controller = new Controller({
    name,
    // Reconciles mostly wait on the API server; a few in flight keep a large first
    // reconcile (thousands of Grants after a restore) from taking minutes.
    workers: 4,
    logger: ctx.logger,
    metrics: ctx.metrics,
    reconcile,
    resyncKeys: () => new Set([...informer.list().map((o) => o.metadata!.name!), ...extraResyncKeys()]),
    ...(ctx.resyncIntervalMs ? { resyncIntervalMs: ctx.resyncIntervalMs } : {}),
  });
  informer.onChange((obj) => controller.enqueue(obj.metadata!.name!));
  return controller;
}

/**
 * Writes the operator's part of an object's status onto the copy it was computed from.
 * Others write status beside the operator (the connector's heartbeat and Synced, a
 * login's Verified), so a status computed from an older copy would set theirs back until
 * the next write (ADR 27). Returns false, having written nothing, when the object has
 * changed since that copy: its watch event brings the newer one and reconciles it again.
 */
export async function writeStatus(
  ctx: Pick<ControllerContext, 'applier' | 'logger'>,
  kind: keyof typeof resources,
  copy: KubernetesObject,
  status: object,
): Promise<boolean> {
  const name = copy.metadata!.name!;
  const resourceVersion = copy.metadata!.resourceVersion;
  try {
    await ctx.applier.applyStatus(kind, name, status, { resourceVersion });
    return true;
  } catch (err) {
    if (statusCode(err) !== 409) throw err;
    ctx.logger.debug({ kind, name, resourceVersion }, 'object changed since this copy; its next watch event reconciles it');
    return false;
  }
}
