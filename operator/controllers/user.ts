// User controller: reports whether a User can log in, and revokes every session and
// access key of a User that is deleted (offboarding takes effect at once).
import type { User } from '../../api/v1alpha1/types.ts';
import type { Controller } from '../../lib/controller/controller.ts';
import { conditionsCurrent, findCondition, mergeConditions, readiness, type ConditionInput } from '../../lib/conditions.ts';
import type { CredentialStore } from '../credentials/store.ts';
import { verifiedCondition } from '../identity/users.ts';
import { secretRefProblem } from '../secret-refs.ts';
import { kindController, writeStatus, type ControllerContext } from './context.ts';

export async function userReady(user: User, readSecret: ControllerContext['readSecret']): Promise<ConditionInput> {
  // Upstream verification (written by logins and the verifier) decides first: a user the IdP refused cannot log in.
  const verified = findCondition(user.status?.conditions, verifiedCondition);
  if (verified?.status === 'False') return { type: 'Ready', status: 'False', reason: verified.reason, message: verified.message };
  const ref = user.spec.passwordSecretRef;
  if (ref) {
    const refused = secretRefProblem({ kind: 'User', name: user.metadata.name! }, ref.name);
    if (refused) return { type: 'Ready', status: 'False', reason: 'PasswordSecretNotAllowed', message: refused };
    const hash = await readSecret(ref.name, ref.key);
    if (hash === undefined) {
      return {
        type: 'Ready',
        status: 'False',
        reason: 'PasswordSecretNotFound',
        message: `Secret ${ref.name} in the operator's namespace has no key ${ref.key}; put the password's scrypt hash there (docs/operator.md)`,
      };
    }
    return { type: 'Ready', status: 'True', reason: 'PasswordSet', message: 'can log in with a password' };
  }
  if (user.status?.provider) return { type: 'Ready', status: 'True', reason: 'ProviderUser', message: `logs in through provider ${user.status.provider}` };
  return { type: 'Ready', status: 'True', reason: 'AwaitingLogin', message: 'no password: logs in through an identity provider or with an access key' };
}

/**
 * Ready with kstatus's Reconciling and Stalled: a User that cannot log in waits on a
 * person (a password hash to write, an account to re-enable upstream), so Flux and kstatus
 * read it as Failed instead of Current.
 */
export async function userConditions(user: User, readSecret: ControllerContext['readSecret']): Promise<ConditionInput[]> {
  return readiness(await userReady(user, readSecret), 'stalled');
}

export function userController(ctx: ControllerContext, credentials: CredentialStore): Controller {
  const { hub } = ctx;
  return kindController(
    ctx,
    'user',
    hub.users,
    async (name) => {
      const user = hub.users.get(name);
      if (!user) {
        const revoked = await credentials.revokeAllFor(name);
        if (revoked > 0) ctx.audit.info({ action: 'user.deleted', user: name, revokedCredentials: revoked }, 'user deleted: credentials revoked');
        return;
      }
      const conditions = await userConditions(user, ctx.readSecret);
      const generation = user.metadata.generation;
      if (conditionsCurrent(user.status?.conditions, conditions, generation) && user.status?.observedGeneration === generation) return;
      await writeStatus(ctx, 'User', user, {
        observedGeneration: generation,
        conditions: mergeConditions(user.status?.conditions, conditions, generation, ctx.now()),
      });
    },
    () => credentials.credentialOwners(),
  );
}
