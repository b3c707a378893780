// Users as identity providers and logins see them: created just in time at a person's
// first login (named after their email), and the status fields that logins and upstream
// verification keep (provider, groups, lastLoginAt, lastVerifiedAt, passwordChangeRequired)
// plus the Verified condition. Status fields are merge-patched under their own field
// manager, so they never clobber what the User controller applies (Ready). Each write
// returns once this replica's cache shows it: the next request must see the new groups.
import { CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { groupSource } from '../../api/grants.ts';
import { resources, type User, type UserStatus } from '../../api/v1alpha1/types.ts';
import { findCondition, mergeConditions, type ConditionInput } from '../../lib/conditions.ts';
import { cachedAtOrPast, untilCached } from '../../lib/controller/read-your-writes.ts';
import { statusCode } from '../../lib/kube.ts';
import { StatusError } from '../../lib/status-error.ts';
import type { Hub } from '../hub.ts';
import { userName } from '../names.ts';
import { maxUserGroups } from './claims.ts';

export const identityFieldManager = 'infra-operator-identity';
/** The Verified condition: whether the identity provider still vouches for the user. */
export const verifiedCondition = 'Verified';

const { group, version, plural } = resources.User;
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** Status fields this module writes; null removes one. */
export type IdentityStatus = { [K in 'provider' | 'groups' | 'lastLoginAt' | 'lastVerifiedAt' | 'passwordChangeRequired']?: UserStatus[K] | null };

/**
 * User.status.groups after a provider reports the person's groups (already sourced,
 * `<provider>:<group>`): that provider's groups replace its old ones, another provider's
 * stay (the person may log in through both), and names without a source, kept from before
 * groups had sources, go.
 */
export function withProviderGroups(before: readonly string[], provider: string, groups: readonly string[]): string[] {
  const others = before.filter((g) => {
    const source = groupSource(g);
    return source !== undefined && source !== provider;
  });
  return [...new Set([...others, ...groups])].sort().slice(0, maxUserGroups);
}

export class IdentityUsers {
  private readonly api: CustomObjectsApi;
  private readonly hub: Hub;

  constructor(kubeConfig: KubeConfig, hub: Hub) {
    this.api = kubeConfig.makeApiClient(CustomObjectsApi);
    this.hub = hub;
  }

  /** The User with this email; one named after the email is created when there is none. */
  async ensure(email: string): Promise<{ user: User; created: boolean }> {
    const existing = this.hub.userByEmail(email);
    if (existing) return { user: existing, created: false };
    const name = userName(email);
    try {
      await this.api.createClusterCustomObject({
        group,
        version,
        plural,
        body: {
          apiVersion: `${group}/${version}`,
          kind: 'User',
          metadata: { name, labels: { 'app.kubernetes.io/managed-by': 'infra-operator' } },
          spec: { email },
        },
        fieldManager: identityFieldManager,
      });
    } catch (err) {
      if (statusCode(err) !== 409) throw err;
      // Another replica created it a moment ago, or a User of another email has the name.
      const other = (await this.api.getClusterCustomObject({ group, version, plural, name })) as User;
      if (other.spec.email.toLowerCase() !== email.toLowerCase()) {
        throw new StatusError(
          409,
          'AlreadyExists',
          `cannot create a User for ${email}: User ${name} exists with email ${other.spec.email}; rename or delete it`,
        );
      }
    }
    const user = await untilCached(() => this.hub.userByEmail(email));
    if (!user) throw new Error(`User ${name} for ${email} was created but has not reached the operator's cache`);
    return { user, created: true };
  }

  /** Merge-patches identity status fields; returns the User as the cache then shows it. */
  async patchStatus(user: User, status: IdentityStatus): Promise<User> {
    const name = user.metadata.name!;
    const written = (await this.api.patchClusterCustomObjectStatus(
      { group, version, plural, name, body: { status }, fieldManager: identityFieldManager },
      mergePatch,
    )) as User;
    return (await untilCached(() => this.current(name, written.metadata.resourceVersion))) ?? written;
  }

  /** Points spec.passwordSecretRef at the Secret that holds the user's password hash. */
  async setPasswordRef(user: User, ref: { name: string; key: string }): Promise<User> {
    const current = user.spec.passwordSecretRef;
    if (current?.name === ref.name && current.key === ref.key) return user;
    const name = user.metadata.name!;
    const written = (await this.api.patchClusterCustomObject(
      { group, version, plural, name, body: { spec: { passwordSecretRef: ref } }, fieldManager: identityFieldManager },
      mergePatch,
    )) as User;
    return (await untilCached(() => this.current(name, written.metadata.resourceVersion))) ?? written;
  }

  /** Sets the Verified condition (only when it changes), keeping the other conditions as they are. */
  async setVerified(user: User, condition: Omit<ConditionInput, 'type'>): Promise<void> {
    const input: ConditionInput = { type: verifiedCondition, ...condition };
    const previous = findCondition(user.status?.conditions, verifiedCondition);
    if (previous?.status === input.status && previous.reason === input.reason) return;
    const [merged] = mergeConditions(user.status?.conditions, [input], user.metadata.generation, new Date());
    // A JSON patch on one list element, so the User controller's Ready stays untouched.
    const conditions = user.status?.conditions ?? [];
    const index = conditions.findIndex((c) => c.type === verifiedCondition);
    const body =
      conditions.length === 0
        ? [{ op: 'add', path: '/status/conditions', value: [merged] }]
        : index < 0
          ? [{ op: 'add', path: '/status/conditions/-', value: merged }]
          : [
              { op: 'test', path: `/status/conditions/${index}/type`, value: verifiedCondition },
              { op: 'replace', path: `/status/conditions/${index}`, value: merged },
            ];
    const name = user.metadata.name!;
    const status = user.status ? body : [{ op: 'add', path: '/status', value: { conditions: [merged] } }];
    const written = (await this.api.patchClusterCustomObjectStatus({ group, version, plural, name, body: status, fieldManager: identityFieldManager })) as User;
    await untilCached(() => this.current(name, written.metadata.resourceVersion));
  }

  /** The cached User once it is at least at this resourceVersion. */
  private current(name: string, resourceVersion: string | undefined): User | undefined {
    const cached = this.hub.users.get(name);
    return cachedAtOrPast(cached, resourceVersion) ? cached : undefined;
  }
}
