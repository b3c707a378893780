import { describe, expect, it } from 'vitest';
import type { ConditionInput } from '../../lib/conditions.ts';
import { destination, fakeHub, grant, group, provider, user } from '../../test/fake-hub.ts';
import { grantConditions } from './grant.ts';

const now = new Date('2030-06-01T12:00:00Z');
const byType = (conditions: ConditionInput[]) => Object.fromEntries(conditions.map((c) => [c.type, c]));

const world = () =>
  fakeHub({
    destinations: [destination('prod')],
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
    it('is True (Valid, "access granted") for a Grant on a known destination with no expiry', () => {
      const c = byType(grantConditions(grant('g', { user: 'carl@example.com', role: 'view', resource: 'prod.web' }), world(), now));
      expect(c['Ready']).toEqual({ type: 'Ready', status: 'True', reason: 'Valid', message: 'access granted' });
      expect(c['Reconciling']).toMatchObject({ status: 'False', reason: 'Valid', message: 'ready' });
      expect(c['Stalled']).toMatchObject({ status: 'False', reason: 'Valid', message: 'ready' });
    });

    it('is True (Valid) with the end of access in its message while the Grant has not expired', () => {
      const c = byType(
        grantConditions(grant('g', { user: 'carl@example.com', role: 'view', resource: 'prod', expiresAt: '2030-06-01T12:00:01Z' }), world(), now),
      );
      expect(c['Ready']).toEqual({ type: 'Ready', status: 'True', reason: 'Valid', message: 'access until 2030-06-01T12:00:01Z' });
    });

    it('is True for a Grant on infra, which has no Destination', () => {
      const c = byType(grantConditions(grant('g', { user: 'carl@example.com', role: 'admin', resource: 'infra' }), world(), now));
      expect(c['Ready']).toMatchObject({ status: 'True', reason: 'Valid' });
    });

    it('is False (DestinationNotFound), waiting, for a destination no connector has registered', () => {
      const c = byType(grantConditions(grant('g', { user: 'carl@example.com', role: 'view', resource: 'staging.web' }), world(), now));
      expect(c['Ready']).toMatchObject({ status: 'False', reason: 'DestinationNotFound' });
      expect(c['Ready']!.message).toMatch(/no Destination named staging/);
      expect(c['Reconciling']).toMatchObject({ status: 'True', reason: 'DestinationNotFound' });
      expect(c['Stalled']).toMatchObject({ status: 'False', reason: 'DestinationNotFound', message: 'see Reconciling' });
    });

    it('is False (Expired), stalled, from the instant of expiresAt, saying how to restore access', () => {
      const c = byType(grantConditions(grant('g', { user: 'carl@example.com', role: 'view', resource: 'prod', expiresAt: now.toISOString() }), world(), now));
      expect(c['Ready']).toMatchObject({ status: 'False', reason: 'Expired' });
      expect(c['Ready']!.message).toMatch(/expired at 2030-06-01T12:00:00.000Z; delete it, or set a later spec.expiresAt/);
      expect(c['Reconciling']).toMatchObject({ status: 'False', reason: 'Expired', message: 'see Stalled' });
      expect(c['Stalled']).toMatchObject({ status: 'True', reason: 'Expired' });
    });

    it('says Expired rather than DestinationNotFound when both hold: a person must act', () => {
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
