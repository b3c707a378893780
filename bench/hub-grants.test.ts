import { describe, expect, it } from 'vitest';
import type { Grant } from '../api/v1alpha1/types.ts';
import { destinationLabel } from '../api/grants.ts';
import { grantSettled } from './hub-grants.ts';

const condition = (type: string, status: 'True' | 'False', observedGeneration = 2) => ({
  type,
  status,
  reason: 'Bench',
  message: '',
  observedGeneration,
  lastTransitionTime: '2026-12-05T00:00:00Z',
});

function grant(overrides: { labelled?: boolean; observedGeneration?: number; conditions?: ReturnType<typeof condition>[] } = {}): Grant {
  const { labelled = true, observedGeneration = 2 } = overrides;
  const conditions = overrides.conditions ?? [condition('SubjectFound', 'False'), condition('Synced', 'True'), condition('Ready', 'True')];
  return {
    apiVersion: 'infrahq.com/v1alpha1',
    kind: 'Grant',
    metadata: { name: 'g', generation: 2, labels: labelled ? { [destinationLabel]: 'dev' } : {} },
    spec: { user: 'a@example.com', role: 'view', resource: 'dev.ns' },
    status: { observedGeneration, conditions },
  };
}

describe('grantSettled', () => {
  it('holds once the Grant is labelled, observed, Synced and Ready for its generation, whether or not its user exists', () => {
    expect(grantSettled(grant())).toBe(true);
    expect(grantSettled(grant({ conditions: [condition('SubjectFound', 'True'), condition('Synced', 'True'), condition('Ready', 'True')] }))).toBe(true);
  });

  it('does not hold while a write is still due: the label, the operator status, Synced, Ready, or any of them for an older generation', () => {
    expect(grantSettled(grant({ labelled: false }))).toBe(false);
    expect(grantSettled(grant({ observedGeneration: 1 }))).toBe(false);
    expect(grantSettled(grant({ conditions: [condition('Synced', 'True'), condition('Ready', 'True')] }))).toBe(false);
    expect(grantSettled(grant({ conditions: [condition('SubjectFound', 'True'), condition('Ready', 'True')] }))).toBe(false);
    expect(grantSettled(grant({ conditions: [condition('SubjectFound', 'True'), condition('Synced', 'True'), condition('Ready', 'False')] }))).toBe(false);
    expect(grantSettled(grant({ conditions: [condition('SubjectFound', 'True'), condition('Synced', 'True', 1), condition('Ready', 'True')] }))).toBe(false);
  });
});
