// Who an identity provider says someone is: the email and groups in its claims (ID token
// merged with userinfo), by the provider's kind. Pure functions.
import { isGroupName, sourcedGroup } from '../../api/grants.ts';

/** As many groups as User.status.groups holds (the CRD's maxItems). */
export const maxUserGroups = 5000;
import type { ProviderSpec } from '../../api/v1alpha1/types.ts';
import { UpstreamError } from './errors.ts';

export type Claims = Record<string, unknown>;

const rejected = (message: string) => new UpstreamError('rejected', message);

export const defaultGroupsClaim = 'groups';

/** The email that identifies the person: `email`, or for Azure AD the UPN when no email is set. */
export function emailFrom(spec: Pick<ProviderSpec, 'kind' | 'google'>, claims: Claims): string {
  const candidates = spec.kind === 'azure' ? [claims['email'], claims['preferred_username'], claims['upn']] : [claims['email']];
  const email = candidates.find((c): c is string => typeof c === 'string' && /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(c));
  if (!email) {
    throw rejected(
      spec.kind === 'azure'
        ? 'the identity provider sent no email or user principal name; add the email and profile scopes (spec.scopes) or the optional claim email in the app registration'
        : 'the identity provider sent no email claim; request the email scope (spec.scopes) and let the application release the email',
    );
  }
  if (claims['email_verified'] === false || claims['email_verified'] === 'false') {
    throw rejected(`the identity provider says ${email} is not verified; verify the email address there first`);
  }
  const domain = spec.google?.domain;
  if (spec.kind === 'google' && domain !== undefined && claims['hd'] !== domain) {
    throw rejected(`${email} is not an account of the Google Workspace domain ${domain}`);
  }
  return email;
}

/** Group names in a claim: an array of strings, or one string (some IdPs send a single group that way). */
export function groupsFromClaim(claims: Claims, claim = defaultGroupsClaim): string[] {
  const value = claims[claim];
  if (typeof value === 'string') return value === '' ? [] : [value];
  if (Array.isArray(value)) return value.filter((g): g is string => typeof g === 'string' && g !== '');
  return [];
}

/**
 * The provider's groups as Infra names them, `<provider>:<group>` (api/grants.ts): sorted,
 * without duplicates, only names a Grant can name, at most the 5000 User.status.groups holds.
 * A name no Grant can name is dropped before it is sourced, so a padded " system:masters"
 * never reaches a token.
 */
export function providerGroups(provider: string, groups: Iterable<string>): string[] {
  const sourced = [...groups].filter(isGroupName).map((g) => sourcedGroup(provider, g));
  return [...new Set(sourced.filter(isGroupName))].sort().slice(0, maxUserGroups);
}

/** The ID token's claims with userinfo's on top; userinfo for another subject is refused. */
export function mergeClaims(idToken: Claims, userinfo: Claims | undefined): Claims {
  if (!userinfo) return idToken;
  if (userinfo['sub'] !== idToken['sub']) throw rejected('userinfo answered for another subject than the ID token');
  return { ...idToken, ...userinfo };
}
