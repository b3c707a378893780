import { describe, expect, it } from 'vitest';
import type { Grant } from '../../api/v1alpha1/types.ts';
import type { ConditionInput } from '../../lib/conditions.ts';
import { destination, fakeHub, grant, group, provider, user } from '../../test/fake-hub.ts';
import { heartbeatTimeoutMs } from './destination.ts';
import { grantConditions } from './grant.ts';

const now = new Date('2030-06-01T12:00:00Z');
/** A status carrying the connector's Synced condition for a generation, as the connector writes it. */
const synced = (status: 'True' | 'False', reason: string, observedGeneration: number): Grant['status'] => ({
  conditions: [
    {
      type: 'Synced',
      status,
      reason,
      observedGeneration,
      lastTransitionTime: now.toISOString(),
      message: status === 'True' ? 'bound by RoleBinding web/infra:view in prod' : `connector says ${reason}`,
    },
  ],
});
const byType = (conditions: ConditionInput[]) => Object.fromEntries(conditions.map((c) => [c.type, c]));

const connected = { lastSeenAt: new Date(now.getTime() - 10_000).toISOString(), connected: true };
const world = () =>
  fakeHub({
    destinations: [destination('prod', {}, connected)],
    providers: [provider('okta')],
    users: [user('carl', 'carl@example.com', { groups: ['okta:eng'] })],
    groups: [group('oncall', ['dana@example.com'])],
  }).hub;

describe('grantConditions', () => {
  it('gives Ready, Reconciling, Stalled and SubjectFound, in that order', () => {
    const conditions = grantConditions(grant('g', { user: 'carl@example.com', role: 'view', resource: 'prod' }), world(), now);
    expect(conditions.map((c) => c.type)).toEqual(['Ready', 'Reconciling', 'Stalled', 'SubjectFound']);
  });

  describe('Ready', () => {
    it('is True (Bound) once the connector reports the current generation bound, in its words', () => {
      const c = byType(grantConditions(grant('g', { user: 'carl@example.com', role: 'view', resource: 'prod.web' }, synced('True', 'Bound', 1)), world(), now));
      expect(c['Ready']).toEqual({ type: 'Ready', status: 'True', reason: 'Bound', message: 'bound by RoleBinding web/infra:view in prod' });
      expect(c['Reconciling']).toMatchObject({ status: 'False', reason: 'Bound', message: 'ready' });
      expect(c['Stalled']).toMatchObject({ status: 'False', reason: 'Bound', message: 'ready' });
    });

    it('is True (Bound) with the end of access in its message while the Grant has not expired', () => {
      const c = byType(
        grantConditions(
          grant('g', { user: 'carl@example.com', role: 'view', resource: 'prod.web', expiresAt: '2030-06-01T12:00:01Z' }, synced('True', 'Bound', 1)),
          world(),
          now,
        ),
      );
      expect(c['Ready']).toEqual({
        type: 'Ready',
        status: 'True',
        reason: 'Bound',
        message: 'bound by RoleBinding web/infra:view in prod; access until 2030-06-01T12:00:01Z',
      });
    });

    it('is True (Valid) for a Grant on infra, which has no Destination nor connector', () => {
      const c = byType(grantConditions(grant('g', { user: 'carl@example.com', role: 'admin', resource: 'infra' }), world(), now));
      expect(c['Ready']).toEqual({ type: 'Ready', status: 'True', reason: 'Valid', message: 'access granted' });
    });

    it('is False (AwaitingSync), waiting, naming the destination, until its connector reports the Grant', () => {
      const c = byType(grantConditions(grant('g', { user: 'carl@example.com', role: 'view', resource: 'prod.web' }), world(), now));
      expect(c['Ready']).toEqual({
        type: 'Ready',
        status: 'False',
        reason: 'AwaitingSync',
        message: 'waiting for the connector of destination prod to bind generation 1 of this Grant',
      });
      expect(c['Reconciling']).toMatchObject({ status: 'True', reason: 'AwaitingSync' });
      expect(c['Stalled']).toMatchObject({ status: 'False', message: 'see Reconciling' });
    });

    it('is False (AwaitingSync) while Synced=True describes an older generation of the spec', () => {
      const edited = grant('g', { user: 'carl@example.com', role: 'edit', resource: 'prod.web' }, synced('True', 'Bound', 1));
      edited.metadata.generation = 2;
      const c = byType(grantConditions(edited, world(), now));
      expect(c['Ready']).toMatchObject({ status: 'False', reason: 'AwaitingSync', message: expect.stringContaining('generation 2') });
    });

    it("is False with the connector's reason, stalled, when the connector cannot bind it (RoleNotFound)", () => {
      const c = byType(
        grantConditions(grant('g', { user: 'carl@example.com', role: 'viewer', resource: 'prod' }, synced('False', 'RoleNotFound', 1)), world(), now),
      );
      expect(c['Ready']).toEqual({
        type: 'Ready',
        status: 'False',
        reason: 'RoleNotFound',
        message: 'destination prod cannot bind it: connector says RoleNotFound',
      });
      expect(c['Stalled']).toMatchObject({ status: 'True', reason: 'RoleNotFound' });
      expect(c['Reconciling']).toMatchObject({ status: 'False', message: 'see Stalled' });
    });

    it('is False (NamespaceNotFound), waiting: the binding comes when the namespace does', () => {
      const c = byType(
        grantConditions(grant('g', { user: 'carl@example.com', role: 'view', resource: 'prod.web' }, synced('False', 'NamespaceNotFound', 1)), world(), now),
      );
      expect(c['Ready']).toMatchObject({ status: 'False', reason: 'NamespaceNotFound' });
      expect(c['Reconciling']).toMatchObject({ status: 'True', reason: 'NamespaceNotFound' });
    });

    it('is False (AwaitingConnector), waiting, on a Destination no connector has registered for yet', () => {
      const hub = fakeHub({ destinations: [destination('prod')] }).hub;
      const c = byType(grantConditions(grant('g', { user: 'carl@example.com', role: 'view', resource: 'prod' }), hub, now));
      expect(c['Ready']).toMatchObject({
        status: 'False',
        reason: 'AwaitingConnector',
        message: expect.stringMatching(/^destination prod has no connector yet/),
      });
      expect(c['Reconciling']).toMatchObject({ status: 'True', reason: 'AwaitingConnector' });
    });

    it('is False (DestinationDisconnected), stalled, once the connector missed its heartbeats, even if it had bound the Grant', () => {
      const lastSeenAt = new Date(now.getTime() - heartbeatTimeoutMs).toISOString();
      const hub = fakeHub({ destinations: [destination('prod', {}, { lastSeenAt, connected: true })] }).hub;
      const c = byType(grantConditions(grant('g', { user: 'carl@example.com', role: 'view', resource: 'prod' }, synced('True', 'Bound', 1)), hub, now));
      expect(c['Ready']).toMatchObject({ status: 'False', reason: 'DestinationDisconnected' });
      expect(c['Ready']!.message).toBe(
        `destination prod is disconnected: no heartbeat from its connector since ${lastSeenAt}, so nothing there can be bound or checked; check the connector's logs in that cluster`,
      );
      expect(c['Stalled']).toMatchObject({ status: 'True', reason: 'DestinationDisconnected' });
    });

    it('is False (DestinationNotFound), stalled, for a destination no Destination names: a typo or a cluster not added', () => {
      const c = byType(grantConditions(grant('g', { user: 'carl@example.com', role: 'view', resource: 'staging.web' }), world(), now));
      expect(c['Ready']).toMatchObject({ status: 'False', reason: 'DestinationNotFound' });
      expect(c['Ready']!.message).toMatch(/^no Destination named staging; check spec.resource/);
      expect(c['Stalled']).toMatchObject({ status: 'True', reason: 'DestinationNotFound' });
      expect(c['Reconciling']).toMatchObject({ status: 'False', reason: 'DestinationNotFound', message: 'see Stalled' });
    });

    it('is False (Expired), stalled, from the instant of expiresAt, saying how to restore access', () => {
      const c = byType(
        grantConditions(
          grant('g', { user: 'carl@example.com', role: 'view', resource: 'prod', expiresAt: now.toISOString() }, synced('True', 'Bound', 1)),
          world(),
          now,
        ),
      );
      expect(c['Ready']).toMatchObject({ status: 'False', reason: 'Expired' });
      expect(c['Ready']!.message).toMatch(/expired at 2030-06-01T12:00:00.000Z; delete it, or set a later spec.expiresAt/);
      expect(c['Reconciling']).toMatchObject({ status: 'False', reason: 'Expired', message: 'see Stalled' });
      expect(c['Stalled']).toMatchObject({ status: 'True', reason: 'Expired' });
    });

    it('says Expired rather than DestinationNotFound when both hold', () => {
      const c = byType(
        grantConditions(grant('g', { user: 'carl@example.com', role: 'view', resource: 'staging', expiresAt: '2030-01-01T00:00:00Z' }), world(), now),
      );
      expect(c['Ready']).toMatchObject({ status: 'False', reason: 'Expired' });
    });
  });

  describe('SubjectFound', () => {
    it('is True (UserFound) when a User has the email, whatever its case', () => {
      const c = byType(grantConditions(grant('g', { user: 'Carl@Example.com', role: 'view', resource: 'prod' }), world(), now));
      expect(c['SubjectFound']).toEqual({ type: 'SubjectFound', status: 'True', reason: 'UserFound', message: 'user Carl@Example.com exists' });
    });

    it('is False (UserNotFound) when no User has the email yet, and says the Grant applies once they log in', () => {
      const c = byType(grantConditions(grant('g', { user: 'erin@example.com', role: 'view', resource: 'prod' }), world(), now));
      expect(c['SubjectFound']).toMatchObject({ status: 'False', reason: 'UserNotFound' });
      expect(c['SubjectFound']!.message).toMatch(/no User has email erin@example.com yet; the Grant applies once they log in/);
    });

    it('is True (GroupFound) for a built-in Group', () => {
      const c = byType(grantConditions(grant('g', { group: 'oncall', role: 'view', resource: 'prod' }), world(), now));
      expect(c['SubjectFound']).toEqual({ type: 'SubjectFound', status: 'True', reason: 'GroupFound', message: 'built-in Group oncall exists' });
    });

    it("is True (GroupFound) for a Provider's group a User has logged in with", () => {
      const c = byType(grantConditions(grant('g', { group: 'okta:eng', role: 'view', resource: 'prod' }), world(), now));
      expect(c['SubjectFound']).toEqual({
        type: 'SubjectFound',
        status: 'True',
        reason: 'GroupFound',
        message: 'users logged in through okta are in group eng',
      });
    });

    it("is False (GroupNotFound) for a Provider's group nobody has, and says when it applies", () => {
      const c = byType(grantConditions(grant('g', { group: 'okta:Eng', role: 'view', resource: 'prod' }), world(), now));
      expect(c['SubjectFound']).toMatchObject({ status: 'False', reason: 'GroupNotFound' });
      expect(c['SubjectFound']!.message).toBe('no user has logged in through okta with group Eng yet; the Grant applies once one does');
    });

    it('is False (ProviderNotFound) for a group of a Provider that does not exist', () => {
      const c = byType(grantConditions(grant('g', { group: 'entra:eng', role: 'view', resource: 'prod' }), world(), now));
      expect(c['SubjectFound']).toMatchObject({ status: 'False', reason: 'ProviderNotFound' });
      expect(c['SubjectFound']!.message).toMatch(/^no Provider is named entra; the Grant applies to group eng once Provider entra exists/);
    });

    it('is False (GroupNotFound) for a name without a source and no built-in Group, and shows how to name a provider group', () => {
      const c = byType(grantConditions(grant('g', { group: 'eng', role: 'view', resource: 'prod' }), world(), now));
      expect(c['SubjectFound']).toMatchObject({ status: 'False', reason: 'GroupNotFound' });
      expect(c['SubjectFound']!.message).toMatch(/no built-in Group is named eng;.* <provider>:<group>, e.g. okta:eng/);
    });

    it('is True (HubGroup) for a group of the hub', () => {
      const c = byType(grantConditions(grant('g', { group: 'hub:ops', role: 'view', resource: 'prod' }), world(), now));
      expect(c['SubjectFound']).toMatchObject({ status: 'True', reason: 'HubGroup' });
    });

    it('is reported beside Ready, independent of it: a Grant to an unknown user on an expired resource says both', () => {
      const c = byType(
        grantConditions(grant('g', { user: 'erin@example.com', role: 'view', resource: 'prod', expiresAt: '2030-01-01T00:00:00Z' }), world(), now),
      );
      expect([c['Ready']!.reason, c['SubjectFound']!.reason]).toEqual(['Expired', 'UserNotFound']);
    });
  });
});
