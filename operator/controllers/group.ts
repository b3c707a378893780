// Group controller: counts a built-in Group's members and names those with no User.
import type { Group } from '../../api/v1alpha1/types.ts';
import type { Controller } from '../../lib/controller/controller.ts';
import { conditionsCurrent, mergeConditions, readiness, type ConditionInput } from '../../lib/conditions.ts';
import type { Hub } from '../hub.ts';
import { kindController, writeStatus, type ControllerContext } from './context.ts';

export function groupController(ctx: ControllerContext): Controller {
  const { hub } = ctx;
  const controller = kindController(ctx, 'group', hub.groups, async (name) => {
    const group = hub.groups.get(name);
    if (!group) return;
    const { members, unknownMembers, conditions } = groupMembership(group, hub);
    const status = group.status ?? {};
    const generation = group.metadata.generation;
    if (
      conditionsCurrent(status.conditions, conditions, generation) &&
      status.memberCount === members.length &&
      JSON.stringify(status.unknownMembers ?? []) === JSON.stringify(unknownMembers)
    )
      return;
    await writeStatus(ctx, 'Group', group, {
      observedGeneration: generation,
      memberCount: members.length,
      unknownMembers,
      conditions: mergeConditions(status.conditions, conditions, generation, ctx.now()),
    });
  });
  // A member's User appearing or disappearing changes unknownMembers.
  hub.users.onChange((u) => {
    for (const g of hub.groups.byIndex('member', u.spec.email.toLowerCase())) controller.enqueue(g.metadata.name!);
  });
  return controller;
}

/** A built-in Group's members, those of them with no User (sorted), and its conditions; pure, for tests. */
export function groupMembership(group: Group, hub: Pick<Hub, 'userByEmail'>): { members: string[]; unknownMembers: string[]; conditions: ConditionInput[] } {
  const members = group.spec?.members ?? [];
  const unknownMembers = members.filter((m) => !hub.userByEmail(m)).sort();
  const conditions = readiness(
    unknownMembers.length === 0
      ? { type: 'Ready', status: 'True', reason: 'MembersFound', message: `${members.length} members` }
      : {
          type: 'Ready',
          status: 'True',
          reason: 'UnknownMembers',
          message: `${unknownMembers.length} of ${members.length} members have no User yet: ${unknownMembers.slice(0, 5).join(', ')}${unknownMembers.length > 5 ? ', …' : ''}`,
        },
  );
  return { members, unknownMembers, conditions };
}
