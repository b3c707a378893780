// What the connector writes on a Grant in the hub: Synced and the readiness it implies, in
// one request, so the operator finds Ready current and writes nothing after it.
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Grant, resources } from '../../api/v1alpha1/types.ts';
import type { Applier } from '../../lib/apply.ts';
import type { Condition, ConditionInput } from '../../lib/conditions.ts';
import { ControllerMetrics } from '../../lib/controller/controller.ts';
import { FakeInformer } from '../../test/fake-informer.ts';
import { SyncedStatus } from './synced-status.ts';

const now = new Date('2030-06-01T12:00:00Z');
const earlier = '2030-06-01T11:00:00Z';
const bound: ConditionInput = { type: 'Synced', status: 'True', reason: 'Bound', message: 'bound by ClusterRoleBinding infra:view in prod' };

function grant(spec: Partial<Grant['spec']>, conditions: Condition[] = []): Grant {
  return {
    apiVersion: 'infrahq.com/v1alpha1',
    kind: 'Grant',
    metadata: { name: 'carl', generation: 3 },
    spec: { user: 'carl@example.com', role: 'view', resource: 'prod', ...spec },
    status: { conditions },
  };
}

const running: SyncedStatus[] = [];
afterEach(async () => {
  for (const s of running.splice(0)) await s.controller.stop();
});

/** A SyncedStatus over these Grants whose hub records each status it is asked to apply. */
function syncedStatus(grants: Grant[]) {
  const applied: { name: string; conditions: Condition[] }[] = [];
  const hub = {
    applyStatus: async (_kind: string, name: string, status: { conditions: Condition[] }) => void applied.push({ name, conditions: status.conditions }),
  } as unknown as Applier<typeof resources>;
  const status = new SyncedStatus({
    grants: new FakeInformer<Grant>(grants).informer,
    hub,
    logger: pino({ level: 'silent' }),
    metrics: new ControllerMetrics(new Registry()),
    now: () => now,
  });
  status.controller.start();
  running.push(status);
  return { status, applied };
}

/** [type, status, reason] of each condition, in order. */
const summary = (conditions: Condition[]) => conditions.map((c) => [c.type, c.status, c.reason]);

describe('SyncedStatus', () => {
  it('writes Synced with the Ready, Reconciling and Stalled it implies in one apply; Ready says what Synced says and until when', async () => {
    const g = grant({ expiresAt: '2099-01-01T00:00:00Z' });
    const { status, applied } = syncedStatus([g]);
    status.record(g, bound);
    await vi.waitFor(() => expect(applied).toHaveLength(1));
    expect(summary(applied[0]!.conditions)).toEqual([
      ['Synced', 'True', 'Bound'],
      ['Ready', 'True', 'Bound'],
      ['Reconciling', 'False', 'Bound'],
      ['Stalled', 'False', 'Bound'],
    ]);
    expect(applied[0]!.conditions[1]!.message).toBe('bound by ClusterRoleBinding infra:view in prod; access until 2099-01-01T00:00:00Z');
    expect(applied[0]!.conditions.every((c) => c.observedGeneration === 3 && c.lastTransitionTime === '2030-06-01T12:00:00Z')).toBe(true);
  });

  it("keeps Ready's transition time while its status stays, and says the connector's refusal in Ready (stalled)", async () => {
    const notReady = (type: string, status: Condition['status']): Condition => ({
      type,
      status,
      reason: 'AwaitingSync',
      message: 'waiting',
      lastTransitionTime: earlier,
    });
    const g = grant({}, [notReady('Ready', 'False'), notReady('Reconciling', 'True'), notReady('Stalled', 'False')]);
    const { status, applied } = syncedStatus([g]);
    status.record(g, { type: 'Synced', status: 'False', reason: 'RoleNotFound', message: 'no ClusterRole named view' });
    await vi.waitFor(() => expect(applied).toHaveLength(1));
    const [, ready, reconciling, stalled] = applied[0]!.conditions;
    expect(ready).toMatchObject({
      status: 'False',
      reason: 'RoleNotFound',
      message: 'destination prod cannot bind it: no ClusterRole named view',
      lastTransitionTime: earlier,
    });
    expect(reconciling).toMatchObject({ status: 'False', lastTransitionTime: '2030-06-01T12:00:00Z' });
    expect(stalled).toMatchObject({ status: 'True', lastTransitionTime: '2030-06-01T12:00:00Z' });
  });

  it("writes an expired Grant's readiness as the operator does: Expired, whatever Synced says", async () => {
    const g = grant({ expiresAt: '2030-01-01T00:00:00Z' });
    const { status, applied } = syncedStatus([g]);
    status.record(g, { type: 'Synced', status: 'False', reason: 'Expired', message: 'expired' });
    await vi.waitFor(() => expect(applied).toHaveLength(1));
    expect(summary(applied[0]!.conditions).slice(1)).toEqual([
      ['Ready', 'False', 'Expired'],
      ['Reconciling', 'False', 'Expired'],
      ['Stalled', 'True', 'Expired'],
    ]);
  });

  it('does not answer the operator: a Grant whose Synced is current is not written, whatever its Ready says', async () => {
    const synced: Condition = { ...bound, observedGeneration: 3, lastTransitionTime: earlier };
    const disconnected: Condition = {
      type: 'Ready',
      status: 'False',
      reason: 'DestinationDisconnected',
      message: 'no heartbeat',
      lastTransitionTime: earlier,
      observedGeneration: 3,
    };
    const g = grant({}, [synced, disconnected]);
    const { status, applied } = syncedStatus([g]);
    status.record(g, bound);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(applied).toEqual([]);
  });

  it('does not write the same Synced twice while its Grant cache has not yet seen the first write', async () => {
    const g = grant({});
    const { status, applied } = syncedStatus([g]);
    status.record(g, bound);
    await vi.waitFor(() => expect(applied).toHaveLength(1));
    status.record(g, bound); // the binding reconciled again; the watch has not delivered the write yet
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(applied).toHaveLength(1);

    status.record(g, { type: 'Synced', status: 'False', reason: 'RoleNotFound', message: 'no ClusterRole named view' });
    await vi.waitFor(() => expect(applied).toHaveLength(2));
  });
});
