// Which AccessPolicy governs a request, and whether a request or a review is allowed.
// Pure: every input is passed in, so the rules are unit-tested without a hub. Every
// refusal is a sentence that names the policy that refused and says what would pass.
import { formatDuration, parseDuration } from '../../api/duration.ts';
import { grantNamespace, infraResource, parseResource } from '../../api/grants.ts';
import { requestState, sameUser } from '../../api/requests.ts';
import type { AccessPolicy, AccessRequest, AccessRequestSpec, Destination, Grant } from '../../api/v1alpha1/types.ts';
import type { Identity } from '../access.ts';

interface Subjects {
  users?: string[];
  groups?: string[];
}

/** A request the rules refuse: a CamelCase reason for conditions, and the sentence for people. */
export interface Refusal {
  reason: string;
  message: string;
  policy?: string;
}

export type Evaluation = { policy: AccessPolicy; durationMs: number } | { refusal: Refusal };

export interface RequestContext {
  policies: readonly AccessPolicy[];
  destination: (name: string) => Destination | undefined;
  /** The requester's current Grants, unexpired. */
  grants: readonly Grant[];
}

export function isMember(identity: Identity, subjects: Subjects | undefined): boolean {
  return (subjects?.users ?? []).some((u) => sameUser(u, identity.email)) || (subjects?.groups ?? []).some((g) => identity.groups.includes(g));
}

/** `*`, a destination, `<destination>.*` or `<destination>.<namespace>`. */
export function resourceMatches(pattern: string, resource: string): boolean {
  if (pattern === '*') return resource !== infraResource;
  if (pattern.endsWith('.*')) return resource.startsWith(pattern.slice(0, -1));
  return pattern === resource;
}

const describeSubjects = (s: Subjects | undefined) => [...(s?.users ?? []), ...(s?.groups ?? []).map((g) => `group ${g}`)].join(', ') || 'nobody';

/** The policy that governs a new request by `requester`, or why there is none. */
export function evaluateRequest(spec: AccessRequestSpec, requester: Identity, ctx: RequestContext): Evaluation {
  const refuse = (reason: string, message: string, policy?: string): Evaluation => ({ refusal: { reason, message, ...(policy ? { policy } : {}) } });
  const durationMs = parseDuration(spec.duration);
  if (!durationMs) return refuse('InvalidDuration', `duration "${spec.duration}" is not a duration: write it like 30m, 2h or 1h30m`);

  const { destination } = parseResource(spec.resource);
  if (destination !== infraResource) {
    const found = ctx.destination(destination);
    if (!found) return refuse('DestinationNotFound', `no destination is named ${destination}: see \`infra destinations list\` for the ones there are`);
    const roles = found.status?.roles;
    if (roles && roles.length > 0 && !roles.includes(spec.role)) {
      return refuse('RoleNotFound', `destination ${destination} has no role ${spec.role}; its roles are ${roles.join(', ')}`);
    }
  }

  const sorted = [...ctx.policies].sort((a, b) => a.metadata.name!.localeCompare(b.metadata.name!));
  const covering = sorted.filter((p) => p.spec.resources.some((r) => resourceMatches(r, spec.resource)));
  if (covering.length === 0) {
    return refuse(
      'NoPolicy',
      `no AccessPolicy covers ${spec.resource}, so nobody may request access there; an Infra admin can add one (docs/access-requests.md)`,
    );
  }
  const forRole = covering.filter((p) => p.spec.roles.includes(spec.role));
  if (forRole.length === 0) {
    const allowed = [...new Set(covering.flatMap((p) => p.spec.roles))].join(', ');
    return refuse(
      'RoleNotRequestable',
      `AccessPolicy ${covering.map((p) => p.metadata.name).join(', ')} lets nobody request role ${spec.role} on ${spec.resource}; roles you may request there: ${allowed}`,
      covering[0]!.metadata.name,
    );
  }
  const policy = forRole.find((p) => isMember(requester, p.spec.requesters));
  if (!policy) {
    const first = forRole[0]!;
    return refuse(
      'NotARequester',
      `AccessPolicy ${first.metadata.name} does not let ${requester.email} request role ${spec.role} on ${spec.resource}: only ${describeSubjects(first.spec.requesters)} may`,
      first.metadata.name,
    );
  }
  const name = policy.metadata.name!;
  const maxMs = parseDuration(policy.spec.maxDuration);
  if (maxMs === undefined || durationMs > maxMs) {
    return refuse(
      'DurationTooLong',
      `AccessPolicy ${name} allows at most ${policy.spec.maxDuration} for role ${spec.role} on ${spec.resource}; you asked for ${formatDuration(durationMs)}: ask for ${policy.spec.maxDuration} or less`,
      name,
    );
  }
  if (policy.spec.requireReason && !spec.reason?.trim()) {
    return refuse('ReasonRequired', `AccessPolicy ${name} requires a reason: say why you need role ${spec.role} on ${spec.resource} (--reason "...")`, name);
  }
  const held = ctx.grants.find((g) => g.spec.role === spec.role && covers(g, spec.resource));
  if (held) {
    return refuse(
      'AlreadyGranted',
      `${requester.email} already has role ${spec.role} on ${held.spec.resource} (Grant ${held.metadata.name}): there is nothing to request`,
      name,
    );
  }
  return { policy, durationMs };
}

/** Whether a Grant gives its role on `resource`: the same resource, or the whole destination of a namespace. */
function covers(grant: Grant, resource: string): boolean {
  return grant.spec.resource === resource || (grantNamespace(grant) === undefined && parseResource(resource).destination === grant.spec.resource);
}

export function autoApproves(policy: AccessPolicy, requester: Identity): boolean {
  return isMember(requester, { groups: policy.spec.autoApprove?.groups ?? [] });
}

export function approvalsRequired(policy: AccessPolicy | undefined): number {
  return policy?.spec.approvalsRequired ?? 1;
}

export type Decision = 'Approve' | 'Deny';

/** Why `reviewer` may not approve or deny the request now, or undefined when they may. */
export function reviewProblem(
  request: AccessRequest,
  reviewer: Identity,
  isInfraAdmin: boolean,
  policy: AccessPolicy | undefined,
  decision: Decision,
): string | undefined {
  const name = request.metadata.name;
  const verb = decision === 'Approve' ? 'approve' : 'deny';
  const state = requestState(request);
  if (state !== 'Pending') return `AccessRequest ${name} is ${state ?? 'not yet admitted by the operator'}: only a Pending request can be approved or denied`;
  if (sameUser(request.status?.requester, reviewer.email)) {
    return `nobody may ${verb} their own request, directly or through a group: AccessRequest ${name} is ${reviewer.email}'s; ask another approver`;
  }
  if (request.status?.reviews?.some((r) => sameUser(r.user, reviewer.email))) {
    return `${reviewer.email} already reviewed AccessRequest ${name}; it needs ${approvalsRequired(policy)} approvals from different approvers`;
  }
  if (isInfraAdmin || isMember(reviewer, policy?.spec.approvers)) return undefined;
  return policy
    ? `AccessPolicy ${policy.metadata.name} does not let ${reviewer.email} ${verb} AccessRequest ${name}: its approvers are ${describeSubjects(policy.spec.approvers)}, and any admin of Infra`
    : `AccessPolicy ${request.status?.policy ?? '(none)'} of AccessRequest ${name} no longer exists: only an admin of Infra may ${verb} it`;
}

/** Distinct approvers so far. */
export function approvalCount(request: AccessRequest): number {
  return new Set((request.status?.reviews ?? []).filter((r) => r.decision === 'Approve').map((r) => r.user.toLowerCase())).size;
}
