// What the operator's caches keep of a hub object (pruneCached): all it reads or serves,
// less the field sets of managedFields and kubectl's last-applied copy.
import { describe, expect, it } from 'vitest';
import type { Grant } from '../api/v1alpha1/types.ts';
import { lastAppliedAnnotation, pruneCached } from './hub.ts';

const grant = (annotations?: Record<string, string>): Grant => ({
  apiVersion: 'infrahq.com/v1alpha1',
  kind: 'Grant',
  metadata: {
    name: 'alice-view-prod',
    uid: '0f6c3c55-1b1b-4a4e-9d0e-8a5a1c2f0e11',
    generation: 2,
    labels: { 'infrahq.com/destination': 'prod' },
    ...(annotations ? { annotations } : {}),
    managedFields: [
      { manager: 'kubectl', operation: 'Apply', time: new Date('2026-12-01T10:00:00Z'), fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': { 'f:user': {} } } },
      { manager: 'infra-operator', operation: 'Apply', subresource: 'status', fieldsType: 'FieldsV1', fieldsV1: { 'f:status': {} } },
    ],
  },
  spec: { user: 'alice@example.com', role: 'view', resource: 'prod' },
  status: {
    observedGeneration: 2,
    conditions: [{ type: 'Ready', status: 'True', reason: 'Bound', message: 'bound', lastTransitionTime: '2026-12-01T10:00:01Z' }],
  },
});

describe('pruneCached', () => {
  it("drops which fields each manager owns, keeping who wrote what part and when (the audit line's field manager)", () => {
    const pruned = grant();
    pruneCached(pruned);
    expect(pruned.metadata.managedFields).toEqual([
      { manager: 'kubectl', operation: 'Apply', time: new Date('2026-12-01T10:00:00Z'), fieldsType: 'FieldsV1' },
      { manager: 'infra-operator', operation: 'Apply', subresource: 'status', fieldsType: 'FieldsV1' },
    ]);
  });

  it("drops kubectl's last-applied copy, and annotations with it when that was all", () => {
    const only = grant({ [lastAppliedAnnotation]: JSON.stringify(grant()) });
    pruneCached(only);
    expect(only.metadata.annotations).toBeUndefined();

    const more = grant({ [lastAppliedAnnotation]: '{}', 'infrahq.com/created-by': 'admin@example.com' });
    pruneCached(more);
    expect(more.metadata.annotations).toEqual({ 'infrahq.com/created-by': 'admin@example.com' });
  });

  it('keeps everything the operator reads or serves: name, uid, generation, labels, spec and status', () => {
    const pruned = grant({ 'infrahq.com/created-by': 'admin@example.com' });
    pruneCached(pruned);
    const { managedFields: _pruned, ...metadata } = pruned.metadata;
    const { managedFields: _original, ...expected } = grant({ 'infrahq.com/created-by': 'admin@example.com' }).metadata;
    expect(metadata).toEqual(expected);
    expect(pruned.spec).toEqual(grant().spec);
    expect(pruned.status).toEqual(grant().status);
  });

  it('leaves an object without metadata alone', () => {
    const bare = { apiVersion: 'v1', kind: 'List' };
    pruneCached(bare);
    expect(bare).toEqual({ apiVersion: 'v1', kind: 'List' });
  });
});
