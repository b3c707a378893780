import { describe, expect, it } from 'vitest';
import { userName } from '../names.ts';
import { emailFrom, groupsFromClaim, mergeClaims, providerGroups } from './claims.ts';

describe('the email a provider vouches for', () => {
  it('is the email claim, or for Azure AD the user principal name when there is no email', () => {
    expect(emailFrom({ kind: 'oidc' }, { email: 'ann@example.com', email_verified: true })).toBe('ann@example.com');
    expect(emailFrom({ kind: 'azure' }, { preferred_username: 'ann@contoso.com' })).toBe('ann@contoso.com');
    expect(() => emailFrom({ kind: 'okta' }, { preferred_username: 'ann@example.com' })).toThrow(/sent no email claim; request the email scope/);
  });

  it('must be verified, and for Google of the configured Workspace domain', () => {
    expect(() => emailFrom({ kind: 'oidc' }, { email: 'ann@example.com', email_verified: false })).toThrow(
      'the identity provider says ann@example.com is not verified',
    );
    const google = {
      kind: 'google' as const,
      google: { domain: 'example.com', adminEmail: 'admin@example.com', serviceAccountSecretRef: { name: 's', key: 'k' } },
    };
    expect(emailFrom(google, { email: 'ann@example.com', hd: 'example.com' })).toBe('ann@example.com');
    expect(() => emailFrom(google, { email: 'ann@gmail.com' })).toThrow('ann@gmail.com is not an account of the Google Workspace domain example.com');
  });

  it('names the User made at the first login: deterministic, DNS-safe, the same whatever the case', () => {
    expect(userName('Ann.Lee+infra@Example.com')).toBe(userName('ann.lee+infra@example.com'));
    expect(userName('Ann.Lee+infra@Example.com')).toMatch(/^ann-lee-infra-example-com-[0-9a-f]{8}$/);
  });
});

describe('groups from claims', () => {
  it('reads a list, or a single string, from the configured claim', () => {
    expect(groupsFromClaim({ groups: ['eng', 'oncall', 7, ''] })).toEqual(['eng', 'oncall']);
    expect(groupsFromClaim({ roles: 'admins' }, 'roles')).toEqual(['admins']);
    expect(groupsFromClaim({ groups: ['eng'] }, 'roles')).toEqual([]);
  });

  it('are named by their provider, as a sorted set within what User.status.groups holds', () => {
    expect(providerGroups('okta', ['b', 'a', 'b', 'x'.repeat(257)])).toEqual(['okta:a', 'okta:b']);
  });

  it('drop a name that fits a Grant alone but not with its provider in front', () => {
    expect(providerGroups('okta', ['x'.repeat(256), 'x'.repeat(251)])).toEqual([`okta:${'x'.repeat(251)}`]);
  });

  it('drops groups no Grant can name, so a padded " system:masters" never reaches a token', () => {
    expect(providerGroups('corp', [' system:masters', 'system:masters\t', '\u00a0admins', 'ops\n', 'Web Dev', 'eng'])).toEqual(['corp:Web Dev', 'corp:eng']);
  });

  it('take userinfo over the ID token, but only for the same subject', () => {
    expect(mergeClaims({ sub: 's1', email: 'old@example.com' }, { sub: 's1', email: 'ann@example.com', groups: ['eng'] })).toEqual({
      sub: 's1',
      email: 'ann@example.com',
      groups: ['eng'],
    });
    expect(() => mergeClaims({ sub: 's1' }, { sub: 's2' })).toThrow(/another subject/);
  });
});
