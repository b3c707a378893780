// Destination controller: a destination is connected while its connector heartbeats
// (status.lastSeenAt); the operator marks it disconnected when heartbeats stop.
import type { Destination } from '../../api/v1alpha1/types.ts';
import type { Controller } from '../../lib/controller/controller.ts';
import { conditionsCurrent, mergeConditions, readiness, type ConditionInput } from '../../lib/conditions.ts';
import { kindController, writeStatus, type ControllerContext } from './context.ts';

/** Heartbeats come every 30 s; three missed ones mean the connector is gone. */
export const heartbeatTimeoutMs = 90_000;

export function destinationController(ctx: ControllerContext, timeoutMs = heartbeatTimeoutMs): Controller {
  const { hub } = ctx;
  return kindController(ctx, 'destination', hub.destinations, async (name) => {
    const destination = hub.destinations.get(name);
    if (!destination) return;
    const now = ctx.now();
    const { connected, conditions, requeueAfterMs } = destinationConnection(destination, now, timeoutMs);
    const generation = destination.metadata.generation;
    if (!conditionsCurrent(destination.status?.conditions, conditions, generation) || destination.status?.connected !== connected) {
      const written = await writeStatus(ctx, 'Destination', destination, {
        observedGeneration: generation,
        connected,
        conditions: mergeConditions(destination.status?.conditions, conditions, generation, now),
      });
      if (!written) return;
    }
    if (requeueAfterMs !== undefined) return { requeueAfterMs };
  });
}

/**
 * Whether the destination's connector counts as connected at `now`, the conditions that
 * say so, and (while connected) when to look again: just after its heartbeat would be
 * missed. Pure, for tests.
 */
export function destinationConnection(
  destination: Destination,
  now: Date,
  timeoutMs = heartbeatTimeoutMs,
): { connected: boolean; conditions: ConditionInput[]; requeueAfterMs?: number } {
  const lastSeen = Date.parse(destination.status?.lastSeenAt ?? '');
  const age = Number.isNaN(lastSeen) ? Infinity : now.getTime() - lastSeen;
  const connected = age < timeoutMs;
  const conditions = connected
    ? readiness({ type: 'Ready', status: 'True', reason: 'Connected', message: `connector last seen at ${destination.status!.lastSeenAt}` })
    : Number.isNaN(lastSeen)
      ? readiness(
          {
            type: 'Ready',
            status: 'False',
            reason: 'NeverConnected',
            message: 'no connector has registered for this destination yet; install one in the cluster (docs/connector.md)',
          },
          'waiting',
        )
      : readiness(
          {
            type: 'Ready',
            status: 'False',
            reason: 'HeartbeatMissed',
            message: `no heartbeat from the connector since ${destination.status!.lastSeenAt}; check the connector's logs in that cluster`,
          },
          'stalled',
        );
  return { connected, conditions, ...(connected ? { requeueAfterMs: timeoutMs - age + 1000 } : {}) };
}
