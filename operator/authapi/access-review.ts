// AccessReview: what the caller may reach (the data behind `infra list`) and their role on
// Infra itself. A session whose one-time password is unchanged may still ask.
import type { AccessReviewStatus } from '../../api/auth/v1alpha1/types.ts';
import { accessSummary, infraRole } from '../access.ts';
import type { Caller } from '../http/caller.ts';
import type { AuthAPIDeps } from './deps.ts';

export async function accessReview(deps: AuthAPIDeps, caller: Caller): Promise<AccessReviewStatus> {
  const role = infraRole(deps.hub, caller.identity, deps.bootstrapAdmins);
  return {
    user: { email: caller.identity.email, groups: caller.identity.groups },
    ...(role ? { infraRole: role } : {}),
    destinations: accessSummary(deps.hub, caller.identity),
  };
}
