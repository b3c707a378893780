// TokenRequest: where a token for a destination is answered, before every kubectl session
// through a connector. The caller must hold an unexpired Grant on the destination; a
// session from an identity provider is re-verified upstream first when its last check is
// older than the interval. The answer is a short-lived JWT (tokens.lifetime) that carries
// only the groups the caller's Grants on the destination name.
import type { TokenRequestSpec, TokenRequestStatus } from '../../api/auth/v1alpha1/types.ts';
import { destinationLabel, infraResource } from '../../api/grants.ts';
import { jtiCredentialID } from '../../lib/audit.ts';
import { StatusError } from '../../lib/status-error.ts';
import { grantsOnDestination, resolveIdentity, tokenIdentity } from '../access.ts';
import { callerUser, type AuditNote } from '../http/audit.ts';
import type { Caller } from '../http/caller.ts';
import type { AuthAPIDeps } from './deps.ts';
import { requirePasswordChanged } from './passwords.ts';

export async function tokenRequest(deps: AuthAPIDeps, spec: TokenRequestSpec, authenticated: Caller, note: AuditNote): Promise<TokenRequestStatus> {
  const { destination } = spec;
  note.annotations = { [destinationLabel]: destination };
  if (destination === infraResource) {
    throw new StatusError(422, 'Invalid', `"${infraResource}" is Infra itself, not a destination; request a token for a cluster, e.g. production`);
  }
  requirePasswordChanged(deps, authenticated);
  await deps.verifier.ensureFresh(authenticated.credential);
  // Verification may have changed the user's groups: take them as they are now.
  const caller = authenticated.credential?.provider ? { ...authenticated, identity: resolveIdentity(deps.hub, authenticated.identity.email) } : authenticated;
  const grants = grantsOnDestination(deps.hub, caller.identity, destination);
  if (grants.length === 0) {
    deps.audit.info({ action: 'token', user: caller.identity.email, destination, result: 'denied' }, 'token refused: no grant');
    if (!deps.hub.destinations.get(destination)) {
      throw new StatusError(404, 'NotFound', `destination "${destination}" does not exist; run \`infra list\` to see the destinations you can reach`);
    }
    throw new StatusError(
      403,
      'Forbidden',
      `${caller.identity.email} has no grant on destination "${destination}"; ask an Infra admin for a Grant with resource: ${destination}`,
    );
  }
  const identity = tokenIdentity(caller.identity, grants);
  const { token, expiresAt, jti } = await deps.tokens.issue(identity, destination);
  // The groups the token carries, which the connector and the spoke will see: not all of the caller's.
  note.user = { ...callerUser(caller), groups: identity.groups };
  note.issuedCredentialID = jtiCredentialID(jti);
  deps.audit.info(
    { action: 'token', user: identity.email, groups: identity.groups, destination, jti, expiresAt: expiresAt.toISOString(), result: 'issued' },
    'token issued',
  );
  return { token, expirationTimestamp: expiresAt.toISOString() };
}
