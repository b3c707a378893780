import { describe, expect, it } from 'vitest';
import type { Grant } from '../../api/v1alpha1/types.ts';
import { bindingName, grantBindingKey, parseBindingKey, shardSubjects, syncProblem } from './desired.ts';

const grant = (spec: Partial<Grant['spec']> & { resource: string; role?: string }, name = 'g'): Grant => ({
  apiVersion: 'infrahq.com/v1alpha1',
  kind: 'Grant',
  metadata: { name },
  spec: { role: 'view', ...spec },
});

describe('desired RBAC', () => {
  it('maps a grant to its binding key: cluster-wide or per namespace', () => {
    expect(grantBindingKey(grant({ resource: 'prod', group: 'ops' }))).toBe('/view');
    expect(grantBindingKey(grant({ resource: 'prod.web', group: 'ops', role: 'edit' }))).toBe('web/edit');
    expect(parseBindingKey('web/edit')).toEqual({ namespace: 'web', role: 'edit' });
    expect(parseBindingKey('/view')).toEqual({ namespace: undefined, role: 'view' });
  });

  it('aggregates unique subjects in a stable order and shards past the limit', () => {
    const grants = [
      grant({ resource: 'p', user: 'b@x.io' }),
      grant({ resource: 'p', group: 'Ops' }),
      grant({ resource: 'p', user: 'a@x.io' }),
      grant({ resource: 'p', user: 'a@x.io' }),
    ];
    expect(shardSubjects(grants)).toEqual([
      [
        { kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: 'Ops' },
        { kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'a@x.io' },
        { kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'b@x.io' },
      ],
    ]);
    // Code unit order, whatever the locale: upper case before lower case, so the shards are the same on every host.
    const mixedCase = ['bob@x.io', 'Alice@x.io', 'alice@x.io', 'Émile@x.io', 'Bob@x.io'].map((user) => grant({ resource: 'p', user }));
    expect(shardSubjects(mixedCase)[0]!.map((s) => s.name)).toEqual(['Alice@x.io', 'Bob@x.io', 'alice@x.io', 'bob@x.io', 'Émile@x.io']);
    const many = Array.from({ length: 2500 }, (_, i) => grant({ resource: 'p', user: `u${i}@x.io` }));
    expect(shardSubjects(many).map((s) => s.length)).toEqual([1000, 1000, 500]);
    expect([0, 1, 2].map((i) => bindingName('view', i))).toEqual(['infra:view', 'infra:view:2', 'infra:view:3']);
  });

  it('explains why a grant cannot be bound: expired, missing role, missing namespace', () => {
    const roles = new Set(['view']);
    const namespaces = new Set(['web']);
    const now = new Date('2026-06-01T00:00:00Z');
    expect(syncProblem(grant({ resource: 'p.web', group: 'g' }), 'p', roles, namespaces, now)).toBeUndefined();
    expect(syncProblem(grant({ resource: 'p', group: 'g', role: 'edit' }), 'p', roles, namespaces, now)?.reason).toBe('RoleNotFound');
    expect(syncProblem(grant({ resource: 'p.api', group: 'g' }), 'p', roles, namespaces, now)?.reason).toBe('NamespaceNotFound');
    expect(syncProblem(grant({ resource: 'p', group: 'g', expiresAt: '2026-05-01T00:00:00Z' }), 'p', roles, namespaces, now)?.reason).toBe('Expired');
  });

  it('treats an expiresAt that does not parse as expired: expiry fails closed', () => {
    const roles = new Set(['view']);
    const now = new Date('2026-06-01T00:00:00Z');
    for (const expiresAt of ['2024-01-01T00:00:00+99:99', '2099-01-01T00:00:00+24:00', 'next friday', '2099-13-01T00:00:00Z', '2099-01-01']) {
      expect(syncProblem(grant({ resource: 'p', group: 'g', expiresAt }), 'p', roles, new Set(), now)?.reason, expiresAt).toBe('Expired');
    }
    for (const expiresAt of ['2099-01-01T00:00:00Z', '2099-01-01T01:00:00+01:00', '2099-01-01t00:00:00.5z']) {
      expect(syncProblem(grant({ resource: 'p', group: 'g', expiresAt }), 'p', roles, new Set(), now), expiresAt).toBeUndefined();
    }
  });

  it("never binds Kubernetes' own groups, whatever the rest of the Grant says", () => {
    const roles = new Set(['view', 'cluster-admin']);
    const now = new Date('2026-06-01T00:00:00Z');
    for (const group of ['system:authenticated', 'system:unauthenticated', 'system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:masters']) {
      const problem = syncProblem(grant({ resource: 'p', group, role: 'cluster-admin' }), 'p', roles, new Set(), now);
      expect(problem?.reason, group).toBe('ReservedSubject');
      expect(problem?.message).toContain(group);
    }
    expect(syncProblem(grant({ resource: 'p', group: 'systems:ops', role: 'view' }), 'p', roles, new Set(), now)).toBeUndefined();
  });
});
