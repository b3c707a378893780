import { expect, it } from 'vitest';
import type { Grant } from '../../api/v1alpha1/types.ts';
import { pruneGrant } from './synced-status.ts';

it("keeps the connector's Synced condition and the spec, drops the operator's conditions, annotations and managedFields", () => {
  const synced = {
    type: 'Synced',
    status: 'True',
    reason: 'Bound',
    message: 'bound by RoleBinding web/infra:view in prod',
    lastTransitionTime: '2026-12-01T10:00:00Z',
    observedGeneration: 2,
  };
  const grant = {
    apiVersion: 'infrahq.com/v1alpha1',
    kind: 'Grant',
    metadata: {
      name: 'carl-view-web',
      generation: 2,
      labels: { 'infrahq.com/destination': 'prod' },
      annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"spec":{}}' },
      managedFields: [{ manager: 'kubectl', operation: 'Apply', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': {} } }],
    },
    spec: { user: 'carl@example.com', role: 'view', resource: 'prod.web' },
    status: {
      observedGeneration: 2,
      conditions: [
        { type: 'Ready', status: 'True', reason: 'Accepted', message: 'access granted', lastTransitionTime: '2026-12-01T09:59:00Z', observedGeneration: 2 },
        synced,
      ],
    },
  } as Grant;
  pruneGrant(grant);
  expect(grant).toEqual({
    apiVersion: 'infrahq.com/v1alpha1',
    kind: 'Grant',
    metadata: { name: 'carl-view-web', generation: 2, labels: { 'infrahq.com/destination': 'prod' } },
    spec: { user: 'carl@example.com', role: 'view', resource: 'prod.web' },
    status: { observedGeneration: 2, conditions: [synced] },
  });
});

it('leaves a Grant without a status as it is', () => {
  const grant = { apiVersion: 'infrahq.com/v1alpha1', kind: 'Grant', metadata: { name: 'g' }, spec: { group: 'sre', role: 'view', resource: 'prod' } } as Grant;
  pruneGrant(grant);
  expect(grant).toEqual({ apiVersion: 'infrahq.com/v1alpha1', kind: 'Grant', metadata: { name: 'g' }, spec: { group: 'sre', role: 'view', resource: 'prod' } });
});
