import { expect, it } from 'vitest';
import { bindingWriteStep, directPlusBindingWrite, lastWriteResponse, ProgramLog, propagationSteps, revocationSteps, stepsTable } from './propagation-steps.ts';

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
    ends: { startedAt: t0, acknowledgedAt: t0 + 10, roundTripMs: 4, seenAt: t0 + 23 },
  });
  expect([...steps.values()]).toEqual([6, 4, 2, 1, 0, 1, 6, 3]);
  expect([...steps.values()].reduce((a, b) => a + b)).toBe(23);

  const revoked = revocationSteps({
    connector,
    grant: 'g1',
    bindingKey: 'web/view',
    ends: { startedAt: t0 + 30, acknowledgedAt: t0 + 38, roundTripMs: 3, seenAt: t0 + 50 },
  });
  // The chain stops at the first step without its line: no reconcile was logged after the delete.
  expect([...revoked.entries()]).toEqual([
    ['kubectl start → write sent', 5],
    ['kubectl: write sent → acknowledged (its round trip to the API server)', 3],
    ['Grant event arrives at the connector', 2],
  ]);
  expect(stepsTable('t', [steps])).toContain('| connector: binding write sent → acknowledged by the spoke | 6.0 ms | 6.0 ms |  |');
});

it("reads kubectl's last write from its request log: when its response came, and its round trip", () => {
  const stderr = [
    'I1206 13:04:02.787137   17711 loader.go:402] Config loaded from file:  hub.kubeconfig',
    'I1206 13:04:02.790001   17711 round_trippers.go:560] GET https://127.0.0.1:33037/apis/infrahq.com/v1alpha1/grants/g1 200 OK in 3 milliseconds',
    'I1206 13:04:02.796848   17711 round_trippers.go:560] DELETE https://127.0.0.1:33037/apis/infrahq.com/v1alpha1/grants/g1 200 OK in 6 milliseconds',
    'I1206 13:04:02.803232   17711 round_trippers.go:560] GET https://127.0.0.1:33037/apis/infrahq.com/v1alpha1/grants/g1 404 Not Found in 6 milliseconds',
  ].join('\n');
  expect(lastWriteResponse(stderr, 2026)).toEqual({ at: new Date(2026, 11, 6, 13, 4, 2).getTime() + 796.848, roundTripMs: 6 });
  expect(lastWriteResponse(stderr.split('\n').slice(0, 2).join('\n'), 2026)).toBeUndefined();
});

it("adds each sample's binding write to its direct write, leaving out a sample without one", () => {
  const steps = [
    new Map([
      ['Grant event arrives at the connector', 1],
      [bindingWriteStep, 5],
    ]),
    new Map([['Grant event arrives at the connector', 2]]),
    new Map([[bindingWriteStep, 3]]),
  ];
  expect(directPlusBindingWrite([50, 60, 70], steps)).toEqual([55, 73]);
});
