import type { V1ClusterRole, V1Namespace, V1RoleBinding } from '@kubernetes/client-node';
import { expect, it } from 'vitest';
import type { Grant } from '../../api/v1alpha1/types.ts';
import { cachedBinding, cachedGrant, cachedName } from './cached.ts';

const managedFields = [{ manager: 'kubectl', operation: 'Apply', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': {} } }];

it("keeps a Grant's spec, generation, destination label, its Synced condition and the transition of the readiness the connector writes beside it; drops SubjectFound, other labels, annotations and managedFields", () => {
  const ready = {
    type: 'Ready',
    status: 'True',
    reason: 'Bound',
    message: 'access granted',
    lastTransitionTime: '2026-12-01T09:59:00Z',
    observedGeneration: 2,
  };
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
      uid: 'u1',
      resourceVersion: '41',
      generation: 2,
      finalizers: ['infrahq.com/audit'],
      labels: { 'infrahq.com/destination': 'prod', 'app.kubernetes.io/part-of': 'web' },
      annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"spec":{}}' },
      managedFields,
    },
    spec: { user: 'carl@example.com', role: 'view', resource: 'prod.web' },
    status: {
      observedGeneration: 2,
      conditions: [
        ready,
        { type: 'SubjectFound', status: 'True', reason: 'UserFound', message: 'user carl@example.com exists', lastTransitionTime: '2026-12-01T09:59:00Z' },
        synced,
      ],
    },
  } as Grant;
  expect(cachedGrant(grant)).toEqual({
    apiVersion: 'infrahq.com/v1alpha1',
    kind: 'Grant',
    metadata: { name: 'carl-view-web', resourceVersion: '41', generation: 2, labels: { 'infrahq.com/destination': 'prod' } },
    spec: { user: 'carl@example.com', role: 'view', resource: 'prod.web' },
    // Of Ready only what a write keeps: its status's transition time.
    status: { conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '2026-12-01T09:59:00Z' }, synced] },
  });
});

it('gives a Grant without a condition the connector writes no status', () => {
  const grant = {
    apiVersion: 'infrahq.com/v1alpha1',
    kind: 'Grant',
    metadata: { name: 'g', resourceVersion: '7' },
    spec: { group: 'sre', role: 'view', resource: 'prod' },
    status: { conditions: [{ type: 'SubjectFound', status: 'False', reason: 'UserNotFound', message: '', lastTransitionTime: '2026-12-01T09:59:00Z' }] },
  } as Grant;
  expect(cachedGrant(grant)).toEqual({
    apiVersion: 'infrahq.com/v1alpha1',
    kind: 'Grant',
    metadata: { name: 'g', resourceVersion: '7' },
    spec: { group: 'sre', role: 'view', resource: 'prod' },
  });
});

it("keeps of a binding what a reconcile compares and a prune's preconditions name", () => {
  const binding: V1RoleBinding = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: 'infra:view', namespace: 'web', uid: 'u2', resourceVersion: '9', labels: { 'app.kubernetes.io/managed-by': 'infra' }, managedFields },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
    subjects: [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'carl@example.com' }],
  };
  expect(cachedBinding(binding)).toEqual({
    metadata: { name: 'infra:view', namespace: 'web', uid: 'u2', resourceVersion: '9' },
    roleRef: binding.roleRef,
    subjects: binding.subjects,
  });
});

it('keeps only the name of a namespace or a ClusterRole', () => {
  const namespace: V1Namespace = {
    metadata: { name: 'web', resourceVersion: '3', labels: { team: 'a' } },
    spec: { finalizers: ['kubernetes'] },
    status: { phase: 'Active' },
  };
  const role: V1ClusterRole = { metadata: { name: 'view', resourceVersion: '4' }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }] };
  expect(cachedName(namespace)).toEqual({ metadata: { name: 'web', resourceVersion: '3' } });
  expect(cachedName(role)).toEqual({ metadata: { name: 'view', resourceVersion: '4' } });
});
