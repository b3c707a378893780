import { expect, it } from 'vitest';
import { ProgramLog, propagationSteps, revocationSteps, stepsTable } from './propagation-steps.ts';

const at = (ms: number) => new Date(Date.UTC(2026, 11, 3, 17, 0, 0, ms)).toISOString();
const t0 = Date.UTC(2026, 11, 3, 17, 0, 0, 0);
const line = (ms: number, msg: string, fields: object) => JSON.stringify({ level: 'debug', time: at(ms), msg, ...fields });
const grants = '/apis/infrahq.com/v1alpha1/grants';

it("reads each step from the connector's lines, in order", () => {
  const connector = new ProgramLog([
    'not json',
    line(5, 'reconcile started', { controller: 'rbac', key: 'web/view' }), // before this sample: not its step
    line(12, 'watch event', { informer: grants, key: 'g1', event: 'add' }),
    line(13, 'reconcile started', { controller: 'rbac', key: 'web/view' }),
    line(13, 'binding planned', { key: 'web/view' }),
    line(14, 'binding write sent', { key: 'web/view' }),
    line(20, 'binding written', { key: 'web/view' }),
    line(40, 'watch event', { informer: grants, key: 'g1', event: 'delete' }),
  ]);
  const steps = propagationSteps({
    connector,
    grant: 'g1',
    bindingKey: 'web/view',
    ends: { startedAt: t0, acknowledgedAt: t0 + 10, seenAt: t0 + 23 },
  });
  expect([...steps.values()]).toEqual([10, 2, 1, 0, 1, 6, 3]);
  expect([...steps.values()].reduce((a, b) => a + b)).toBe(23);

  const revoked = revocationSteps({
    connector,
    grant: 'g1',
    bindingKey: 'web/view',
    ends: { startedAt: t0 + 30, acknowledgedAt: t0 + 38, seenAt: t0 + 50 },
  });
  // The chain stops at the first step without its line: no reconcile was logged after the delete.
  expect([...revoked.entries()]).toEqual([
    ['kubectl start → write acknowledged', 8],
    ['Grant event arrives at the connector', 2],
  ]);
  expect(stepsTable('t', [steps])).toContain('| connector: binding write sent → acknowledged by the spoke | 6.0 ms | 6.0 ms |  |');
});
