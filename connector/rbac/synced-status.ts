// The Synced condition on each of this destination's Grants in the hub, with the Ready it
// implies, written off the binding path. A binding's reconcile only records what each of its Grants should say;
// this controller's own workers write it, one hub request per Grant, and only when the
// Grant does not say it yet. Kept out of the binding workers, those writes (one per Grant,
// 10,000 on a cold start) no longer hold up the spoke's RBAC.
import type { Grant, resources } from '../../api/v1alpha1/types.ts';
import type { Applier } from '../../lib/apply.ts';
import { specReadiness, syncedReadiness } from '../../api/grants.ts';
import { conditionsCurrent, findCondition, mergeConditions, readiness, type Condition, type ConditionInput } from '../../lib/conditions.ts';
import { Controller, type ControllerMetrics } from '../../lib/controller/controller.ts';
import type { Informer } from '../../lib/controller/informer.ts';
import type { Logger } from '../../lib/log.ts';

export const statusWorkers = 4;

export interface SyncedStatusOptions {
  grants: Informer<Grant>;
  /** Writes the Synced condition on Grants in the hub. */
  hub: Applier<typeof resources>;
  logger: Logger;
  metrics: ControllerMetrics;
  now: () => Date;
}

export class SyncedStatus {
  readonly controller: Controller;
  /** What a Grant should say and does not yet, by Grant name. */
  private readonly pending = new Map<string, ConditionInput>();
  /**
   * The Synced condition last applied to a Grant, until the Grant cache shows it: a binding
   * reconciled again before the watch delivers this controller's own write would otherwise
   * write the same condition a second time, with a new transition time.
   */
  private readonly applied = new Map<string, Condition>();
  private readonly options: SyncedStatusOptions;

  constructor(options: SyncedStatusOptions) {
    this.options = options;
    this.controller = new Controller({
      name: 'grant-status',
      logger: options.logger,
      metrics: options.metrics,
      workers: statusWorkers,
      reconcile: (name) => this.write(name),
    });
  }

  /** Records the condition the Grant should carry; queues a write unless it carries it already. */
  record(grant: Grant, synced: ConditionInput): void {
    const name = grant.metadata.name!;
    if (this.carries(grant, synced)) {
      this.pending.delete(name);
      return;
    }
    this.pending.set(name, synced);
    this.controller.enqueue(name);
  }

  forget(name: string): void {
    this.pending.delete(name);
    this.applied.delete(name);
  }

  /** Whether the Grant says this already, or will once the cache shows this controller's last write. */
  private carries(grant: Grant, synced: ConditionInput): boolean {
    const name = grant.metadata.name!;
    const generation = grant.metadata.generation;
    if (conditionsCurrent(grant.status?.conditions, [synced], generation)) {
      this.applied.delete(name);
      return true;
    }
    const applied = this.applied.get(name);
    return applied !== undefined && conditionsCurrent([applied], [synced], generation);
  }

  private async write(name: string): Promise<void> {
    const synced = this.pending.get(name);
    const grant = this.options.grants.get(name);
    if (!synced || !grant) return void this.pending.delete(name);
    const existing = grant.status?.conditions;
    const generation = grant.metadata.generation;
    if (!this.carries(grant, synced)) {
      const now = this.options.now();
      const merged = mergeConditions(existing, [synced, ...impliedReadiness(grant, synced, now)], generation, now);
      await this.options.hub.applyStatus('Grant', name, { conditions: merged });
      this.applied.set(name, merged[0]!);
      if (findCondition(existing, 'Synced')?.status !== synced.status) {
        this.options.logger.info({ grant: name, synced: synced.status, reason: synced.reason }, 'grant sync state changed');
      }
    }
    // A newer record made while this one was written stays queued for its own write.
    if (this.pending.get(name) === synced) this.pending.delete(name);
  }
}

/**
 * Ready, Reconciling and Stalled as the operator derives them from this Synced condition
 * (api/grants.ts), written in the same request so the operator finds them current and
 * writes nothing. The operator stays authoritative: where it knows more (the destination
 * disconnected, say) it rewrites them, and this controller does not answer, since it
 * writes only when Synced itself changes (docs/adr/0027-grant-readiness-ownership.md).
 */
function impliedReadiness(grant: Grant, synced: ConditionInput, now: Date): ConditionInput[] {
  const implied = specReadiness(grant, now) ?? syncedReadiness(grant, { ...synced, observedGeneration: grant.metadata.generation });
  return readiness(implied.ready, implied.notReady);
}
