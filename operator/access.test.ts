import { describe, expect, it } from 'vitest';
import { destination, fakeHub, grant, group, provider, user } from '../test/fake-hub.ts';
import { accessSummary, grantsFor, grantsOnDestination, infraRole, resolveIdentity, tokenIdentity } from './access.ts';

const now = new Date('2030-06-01T12:00:00Z');
const carl = 'carl@example.com';
const names = (grants: { metadata: { name?: string } }[]) => grants.map((g) => g.metadata.name).sort();

describe('resolveIdentity', () => {
  it("merges the hub's groups (as hub:), the User's provider groups and built-in Group memberships, sorted and unique", () => {
    const { hub } = fakeHub({
      providers: [provider('okta')],
      users: [user('carl', carl, { groups: ['okta:eng', 'okta:shared'] })],
      groups: [group('oncall', ['Carl@Example.com']), group('shared', [carl]), group('others', ['dana@example.com'])],
    });
    expect(resolveIdentity(hub, carl, ['from-hub', 'shared'])).toEqual({
      email: carl,
      groups: ['hub:from-hub', 'hub:shared', 'okta:eng', 'okta:shared', 'oncall', 'shared'],
    });
  });

  it('finds the User and built-in Groups whatever the case of the email', () => {
    const { hub } = fakeHub({ providers: [provider('okta')], users: [user('carl', carl, { groups: ['okta:eng'] })], groups: [group('oncall', [carl])] });
    expect(resolveIdentity(hub, 'CARL@example.COM').groups).toEqual(['okta:eng', 'oncall']);
  });

  it("drops Kubernetes' own system: groups, wherever they come from", () => {
    const { hub } = fakeHub({
      providers: [provider('okta')],
      users: [user('carl', carl, { groups: ['system:masters', 'okta:eng'] })],
      groups: [group('system:nodes', [carl])],
    });
    expect(resolveIdentity(hub, carl, ['system:authenticated', 'system:serviceaccounts']).groups).toEqual(['okta:eng']);
  });

  it('gives someone with no User and no Group only the hub groups they arrived with', () => {
    const { hub } = fakeHub();
    expect(resolveIdentity(hub, 'new@example.com', ['oncall'])).toEqual({ email: 'new@example.com', groups: ['hub:oncall'] });
    expect(resolveIdentity(hub, 'new@example.com')).toEqual({ email: 'new@example.com', groups: [] });
  });

  it('keeps only groups of Providers that exist: deleting a Provider takes its groups away at once', () => {
    const { hub } = fakeHub({ providers: [provider('okta')], users: [user('carl', carl, { groups: ['okta:eng', 'gone:eng', 'hub:eng', 'legacy'] })] });
    expect(resolveIdentity(hub, carl).groups).toEqual(['okta:eng']);
  });
});

describe('group sources', () => {
  const grants = [
    grant('okta-eng', { group: 'okta:Engineering', role: 'admin', resource: 'prod' }),
    grant('builtin-eng', { group: 'engineering', role: 'view', resource: 'prod' }),
    grant('hub-eng', { group: 'hub:Engineering', role: 'edit', resource: 'prod' }),
  ];
  const { hub } = fakeHub({
    providers: [provider('okta'), provider('entra')],
    users: [user('ann', 'ann@example.com', { groups: ['okta:Engineering'] }), user('eve', 'eve@example.com', { groups: ['entra:Engineering'] })],
    groups: [group('engineering', ['bob@example.com'])],
    grants,
  });
  const granted = (email: string, hubGroups: string[] = []) => names(grantsFor(hub, resolveIdentity(hub, email, hubGroups), now));

  it("never lets one provider's group satisfy a Grant to another's of the same name", () => {
    expect(granted('ann@example.com')).toEqual(['okta-eng']);
    expect(granted('eve@example.com')).toEqual([]);
  });

  it('keeps built-in Groups and hub groups apart from provider groups and from each other', () => {
    expect(granted('bob@example.com')).toEqual(['builtin-eng']);
    expect(granted('dana@example.com', ['Engineering', 'engineering', 'okta:Engineering'])).toEqual(['hub-eng']);
  });
});

describe('grantsFor', () => {
  it('finds a Grant to the user, whatever the case of its email', () => {
    const { hub } = fakeHub({
      grants: [
        grant('direct', { user: 'Carl@Example.com', role: 'view', resource: 'prod' }),
        grant('other', { user: 'dana@example.com', role: 'view', resource: 'prod' }),
      ],
    });
    expect(names(grantsFor(hub, { email: carl, groups: [] }, now))).toEqual(['direct']);
  });

  it('finds a Grant to an IdP group the User belongs to (User.status.groups)', () => {
    const { hub } = fakeHub({
      providers: [provider('okta')],
      users: [user('carl', carl, { groups: ['okta:eng'] })],
      grants: [grant('eng', { group: 'okta:eng', role: 'edit', resource: 'prod' })],
    });
    expect(names(grantsFor(hub, resolveIdentity(hub, carl), now))).toEqual(['eng']);
  });

  it('finds a Grant to a built-in Group that lists the user', () => {
    const { hub } = fakeHub({ groups: [group('oncall', [carl])], grants: [grant('oncall', { group: 'oncall', role: 'admin', resource: 'prod' })] });
    expect(names(grantsFor(hub, resolveIdentity(hub, carl), now))).toEqual(['oncall']);
  });

  it('gives nothing through a system: group, even with a Grant naming it', () => {
    const { hub } = fakeHub({ grants: [grant('everyone', { group: 'system:authenticated', role: 'view', resource: 'prod' })] });
    expect(grantsFor(hub, resolveIdentity(hub, carl, ['system:authenticated']), now)).toEqual([]);
  });

  it('does not match group names case-insensitively: group Eng is not group eng', () => {
    const { hub } = fakeHub({ grants: [grant('eng', { group: 'Eng', role: 'view', resource: 'prod' })] });
    expect(grantsFor(hub, { email: carl, groups: ['eng'] }, now)).toEqual([]);
  });

  it('ignores an expired Grant, from the instant of its expiresAt', () => {
    const { hub } = fakeHub({
      grants: [
        grant('past', { user: carl, role: 'view', resource: 'prod', expiresAt: '2030-06-01T11:59:59Z' }),
        grant('exactly-now', { user: carl, role: 'view', resource: 'prod', expiresAt: now.toISOString() }),
        grant('later', { user: carl, role: 'view', resource: 'prod', expiresAt: '2030-06-01T12:00:01Z' }),
        grant('forever', { user: carl, role: 'view', resource: 'prod' }),
      ],
    });
    expect(names(grantsFor(hub, { email: carl, groups: [] }, now))).toEqual(['forever', 'later']);
  });
});

describe('grantsOnDestination', () => {
  it('counts only the Grants on that destination, cluster-wide or in a namespace', () => {
    const { hub } = fakeHub({
      grants: [
        grant('prod', { user: carl, role: 'view', resource: 'prod' }),
        grant('prod-web', { user: carl, role: 'edit', resource: 'prod.web' }),
        grant('staging', { user: carl, role: 'admin', resource: 'staging' }),
        grant('production', { user: carl, role: 'admin', resource: 'production' }),
      ],
    });
    expect(names(grantsOnDestination(hub, { email: carl, groups: [] }, 'prod', now))).toEqual(['prod', 'prod-web']);
    expect(grantsOnDestination(hub, { email: carl, groups: [] }, 'dev', now)).toEqual([]);
  });

  it('ignores an expired Grant on the destination', () => {
    const { hub } = fakeHub({ grants: [grant('prod', { user: carl, role: 'view', resource: 'prod', expiresAt: now.toISOString() })] });
    expect(grantsOnDestination(hub, { email: carl, groups: [] }, 'prod', now)).toEqual([]);
  });
});

describe('a hub identity (exactEmail), as the aggregated door resolves it', () => {
  const admin = 'admin@example.com';
  const { hub } = fakeHub({
    providers: [provider('okta')],
    users: [user('admin', admin, { groups: ['okta:admins'] })],
    groups: [group('ops', [admin])],
    grants: [
      grant('infra-admin', { user: admin, role: 'admin', resource: 'infra' }),
      grant('ops-prod', { group: 'ops', role: 'cluster-admin', resource: 'prod' }),
      grant('admin-prod', { user: admin, role: 'view', resource: 'prod' }),
    ],
  });

  it('is not admin@example.com when the hub says Admin@Example.com: no User, Group, Grant or bootstrap admin role of theirs', () => {
    const other = resolveIdentity(hub, 'Admin@Example.com', ['hub-group'], { exactEmail: true });
    expect(other.groups).toEqual(['hub:hub-group']);
    expect(grantsFor(hub, other, now)).toEqual([]);
    expect(infraRole(hub, other, [admin], now)).toBeUndefined();
    expect(accessSummary(hub, other, now)).toEqual([]);
  });

  it('is admin@example.com when the hub says exactly that', () => {
    const same = resolveIdentity(hub, admin, [], { exactEmail: true });
    expect(same.groups).toEqual(['okta:admins', 'ops']);
    expect(names(grantsFor(hub, same, now))).toEqual(['admin-prod', 'infra-admin', 'ops-prod']);
    expect(infraRole(hub, { email: admin, groups: [], exactEmail: true }, [admin], now)).toBe('admin');
  });
});

describe('tokenIdentity', () => {
  const { hub } = fakeHub({
    providers: [provider('okta'), provider('kubeadm')],
    users: [user('carl', carl, { groups: ['okta:A', 'okta:B', 'kubeadm:cluster-admins'] })],
    grants: [
      grant('a-dest1', { group: 'okta:A', role: 'view', resource: 'dest1' }),
      grant('b-dest2', { group: 'okta:B', role: 'view', resource: 'dest2' }),
      grant('b-dest1-expired', { group: 'okta:B', role: 'edit', resource: 'dest1', expiresAt: '2030-01-01T00:00:00Z' }),
    ],
  });
  const tokenFor = (destination: string) => {
    const identity = resolveIdentity(hub, carl);
    return tokenIdentity(identity, grantsOnDestination(hub, identity, destination, now));
  };

  it('carries only the groups granted on that destination: not those granted elsewhere, expired, or never granted', () => {
    expect(tokenFor('dest1')).toEqual({ email: carl, groups: ['okta:A'] });
    expect(tokenFor('dest2')).toEqual({ email: carl, groups: ['okta:B'] });
  });

  it("counts a group granted on one of the destination's namespaces", () => {
    const { hub } = fakeHub({
      groups: [group('web', [carl]), group('other', [carl])],
      grants: [grant('web', { group: 'web', role: 'edit', resource: 'dest1.shop' })],
    });
    const identity = resolveIdentity(hub, carl);
    expect(tokenIdentity(identity, grantsOnDestination(hub, identity, 'dest1', now)).groups).toEqual(['web']);
  });

  it('carries no group when only a Grant to the user reaches the destination', () => {
    const { hub } = fakeHub({ groups: [group('A', [carl])], grants: [grant('direct', { user: carl, role: 'view', resource: 'dest1' })] });
    const identity = resolveIdentity(hub, carl);
    expect(tokenIdentity(identity, grantsOnDestination(hub, identity, 'dest1', now))).toEqual({ email: carl, groups: [] });
  });
});

describe('infraRole', () => {
  const identity = { email: carl, groups: ['eng'] };

  it('is admin when a Grant gives admin on infra, even beside view', () => {
    const { hub } = fakeHub({
      grants: [grant('view', { user: carl, role: 'view', resource: 'infra' }), grant('admin', { group: 'eng', role: 'admin', resource: 'infra' })],
    });
    expect(infraRole(hub, identity, [], now)).toBe('admin');
  });

  it('is view with only a view Grant on infra', () => {
    const { hub } = fakeHub({ grants: [grant('view', { group: 'eng', role: 'view', resource: 'infra' })] });
    expect(infraRole(hub, identity, [], now)).toBe('view');
  });

  it('is nothing without a Grant on infra: admin of a destination is not admin of Infra', () => {
    const { hub } = fakeHub({
      grants: [grant('prod', { user: carl, role: 'admin', resource: 'prod' }), grant('other', { user: 'dana@example.com', role: 'admin', resource: 'infra' })],
    });
    expect(infraRole(hub, identity, [], now)).toBeUndefined();
  });

  it('is nothing for a role on infra other than admin or view', () => {
    const { hub } = fakeHub({ grants: [grant('edit', { user: carl, role: 'edit', resource: 'infra' })] });
    expect(infraRole(hub, identity, [], now)).toBeUndefined();
  });

  it('is nothing once the admin Grant on infra has expired', () => {
    const { hub } = fakeHub({
      grants: [
        grant('admin', { user: carl, role: 'admin', resource: 'infra', expiresAt: now.toISOString() }),
        grant('view', { user: carl, role: 'view', resource: 'infra' }),
      ],
    });
    expect(infraRole(hub, identity, [], now)).toBe('view');
  });

  it('is admin for a bootstrap admin, without any Grant, whatever the case of either email', () => {
    const { hub } = fakeHub();
    expect(infraRole(hub, { email: 'Carl@Example.com', groups: [] }, ['admin@example.com', 'CARL@example.com'], now)).toBe('admin');
    expect(infraRole(hub, { email: 'dana@example.com', groups: [] }, ['carl@example.com'], now)).toBeUndefined();
  });
});

describe('accessSummary', () => {
  it('lists each destination once, sorted, with its cluster roles and namespaces merged and sorted', () => {
    const { hub } = fakeHub({
      providers: [provider('okta')],
      users: [user('carl', carl, { groups: ['okta:eng'] })],
      destinations: [
        destination('prod', { url: 'https://prod.example.com', caBundle: 'LS0tCA==' }, { connected: true }),
        destination('dev', {}, { connected: false }),
      ],
      grants: [
        grant('a', { user: carl, role: 'view', resource: 'prod' }),
        grant('b', { group: 'okta:eng', role: 'view', resource: 'prod' }),
        grant('c', { group: 'okta:eng', role: 'edit', resource: 'prod' }),
        grant('d', { user: carl, role: 'view', resource: 'prod.web' }),
        grant('e', { group: 'okta:eng', role: 'admin', resource: 'prod.api' }),
        grant('f', { group: 'okta:eng', role: 'edit', resource: 'prod.web' }),
        grant('g', { user: carl, role: 'edit', resource: 'prod.web' }),
        grant('h', { user: carl, role: 'view', resource: 'dev.tools' }),
      ],
    });
    expect(accessSummary(hub, resolveIdentity(hub, carl), now)).toEqual([
      { name: 'dev', connected: false, clusterRoles: [], namespaces: [{ name: 'tools', roles: ['view'] }] },
      {
        name: 'prod',
        connected: true,
        url: 'https://prod.example.com',
        caBundle: 'LS0tCA==',
        clusterRoles: ['edit', 'view'],
        namespaces: [
          { name: 'api', roles: ['admin'] },
          { name: 'web', roles: ['edit', 'view'] },
        ],
      },
    ]);
  });

  it('points a Direct destination at its API server and a Proxy one at its proxy, side by side', () => {
    const apiServer = { url: 'https://prod.k8s.example.com:6443', caBundle: 'QVBJQ0E=' };
    const { hub } = fakeHub({
      destinations: [
        destination('prod', { url: 'https://proxy.prod.example.com', caBundle: 'UFJPWFk=', trust: 'Direct' }, { connected: true, apiServer }),
        destination('dev', { url: 'https://proxy.dev.example.com', caBundle: 'REVW', trust: 'Proxy' }, { connected: true, apiServer }),
        destination('new', { trust: 'Direct' }, { connected: false }),
      ],
      grants: ['prod', 'dev', 'new'].map((d) => grant(d, { user: carl, role: 'view', resource: d })),
    });
    expect(accessSummary(hub, { email: carl, groups: [] }, now)).toEqual([
      { name: 'dev', connected: true, url: 'https://proxy.dev.example.com', caBundle: 'REVW', clusterRoles: ['view'], namespaces: [] },
      // Direct before its connector reported the API server: no url, so no context yet.
      { name: 'new', connected: false, trust: 'Direct', clusterRoles: ['view'], namespaces: [] },
      { name: 'prod', connected: true, trust: 'Direct', url: apiServer.url, caBundle: apiServer.caBundle, clusterRoles: ['view'], namespaces: [] },
    ]);
  });

  it('leaves out Infra itself: a Grant on infra is not a destination', () => {
    const { hub } = fakeHub({
      grants: [grant('admin', { user: carl, role: 'admin', resource: 'infra' }), grant('prod', { user: carl, role: 'view', resource: 'prod' })],
    });
    expect(accessSummary(hub, { email: carl, groups: [] }, now).map((d) => d.name)).toEqual(['prod']);
  });

  it('shows a destination not registered yet as not connected, without url or CA', () => {
    const { hub } = fakeHub({ grants: [grant('prod', { user: carl, role: 'view', resource: 'prod' })] });
    expect(accessSummary(hub, { email: carl, groups: [] }, now)).toEqual([{ name: 'prod', connected: false, clusterRoles: ['view'], namespaces: [] }]);
  });

  it('shows a registered destination whose connector has not reported yet as not connected', () => {
    const { hub } = fakeHub({
      destinations: [destination('prod', { url: 'https://prod.example.com' })],
      grants: [grant('prod', { user: carl, role: 'view', resource: 'prod' })],
    });
    expect(accessSummary(hub, { email: carl, groups: [] }, now)).toEqual([
      { name: 'prod', connected: false, url: 'https://prod.example.com', clusterRoles: ['view'], namespaces: [] },
    ]);
  });

  it('leaves out expired Grants, and destinations only they reached', () => {
    const { hub } = fakeHub({
      grants: [
        grant('old', { user: carl, role: 'admin', resource: 'prod', expiresAt: now.toISOString() }),
        grant('ok', { user: carl, role: 'view', resource: 'prod' }),
        grant('gone', { user: carl, role: 'view', resource: 'dev', expiresAt: '2030-01-01T00:00:00Z' }),
      ],
    });
    expect(accessSummary(hub, { email: carl, groups: [] }, now)).toEqual([{ name: 'prod', connected: false, clusterRoles: ['view'], namespaces: [] }]);
  });

  it('is empty for someone with no Grant', () => {
    const { hub } = fakeHub({ grants: [grant('prod', { user: 'dana@example.com', role: 'view', resource: 'prod' })] });
    expect(accessSummary(hub, { email: carl, groups: [] }, now)).toEqual([]);
  });
});
