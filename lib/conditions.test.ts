import { describe, expect, it } from 'vitest';
import { conditionTime, conditionsCurrent, mergeConditions, readiness } from './conditions.ts';

const t0 = new Date('2026-01-01T00:00:00Z');
const t1 = new Date('2026-01-01T01:00:00Z');

describe('conditions', () => {
  it('keeps lastTransitionTime while the status holds, and moves it when the status changes', () => {
    const first = mergeConditions(undefined, [{ type: 'Ready', status: 'True', reason: 'Valid', message: 'ok' }], 1, t0);
    expect(first).toEqual([
      { type: 'Ready', status: 'True', reason: 'Valid', message: 'ok', observedGeneration: 1, lastTransitionTime: '2026-01-01T00:00:00Z' },
    ]);
    const same = mergeConditions(first, [{ type: 'Ready', status: 'True', reason: 'StillValid', message: 'ok' }], 2, t1);
    expect(same[0]!.lastTransitionTime).toBe('2026-01-01T00:00:00Z');
    expect(same[0]!.observedGeneration).toBe(2);
    const changed = mergeConditions(first, [{ type: 'Ready', status: 'False', reason: 'Expired', message: 'gone' }], 2, t1);
    expect(changed[0]!.lastTransitionTime).toBe('2026-01-01T01:00:00Z');
  });

  it('writes transition times as Kubernetes does, in UTC to the second', () => {
    expect(conditionTime(new Date('2026-12-06T22:17:26.627+01:00'))).toBe('2026-12-06T21:17:26Z');
    const [stamped] = mergeConditions(undefined, [{ type: 'Ready', status: 'True', reason: 'Valid', message: 'ok' }], 1, new Date('2026-12-06T22:17:26.999Z'));
    expect(stamped!.lastTransitionTime).toBe('2026-12-06T22:17:26Z');
  });

  it('tells when nothing would change, so reconciles do not write', () => {
    const conditions = mergeConditions(undefined, [{ type: 'Ready', status: 'True', reason: 'Valid', message: 'ok' }], 3, t0);
    expect(conditionsCurrent(conditions, [{ type: 'Ready', status: 'True', reason: 'Valid', message: 'ok' }], 3)).toBe(true);
    expect(conditionsCurrent(conditions, [{ type: 'Ready', status: 'True', reason: 'Valid', message: 'ok' }], 4)).toBe(false);
    expect(conditionsCurrent(conditions, [{ type: 'Synced', status: 'True', reason: 'Valid', message: 'ok' }], 3)).toBe(false);
  });
});

describe('readiness', () => {
  const ready = { type: 'Ready', status: 'True', reason: 'Valid', message: 'access granted' } as const;
  const waiting = { type: 'Ready', status: 'False', reason: 'DestinationNotFound', message: 'no Destination named x' } as const;

  it('puts Reconciling and Stalled to False beside a True Ready', () => {
    expect(readiness(ready).map((c) => [c.type, c.status])).toEqual([
      ['Ready', 'True'],
      ['Reconciling', 'False'],
      ['Stalled', 'False'],
    ]);
  });

  it('marks a not-Ready object Reconciling while it waits, Stalled when a person must act, with the same reason', () => {
    expect(readiness(waiting)[1]).toEqual({ type: 'Reconciling', status: 'True', reason: 'DestinationNotFound', message: 'no Destination named x' });
    expect(readiness(waiting)[2]).toMatchObject({ type: 'Stalled', status: 'False' });
    const stalled = readiness({ ...waiting, reason: 'Expired' }, 'stalled');
    expect(stalled.map((c) => [c.type, c.status, c.reason])).toEqual([
      ['Ready', 'False', 'Expired'],
      ['Reconciling', 'False', 'Expired'],
      ['Stalled', 'True', 'Expired'],
    ]);
  });
});
