// The AccessPolicy rules on plain inputs: which policy governs a request, every refusal's
// sentence, and who may review.
import { describe, expect, it } from 'vitest';
import type { AccessPolicy, AccessRequest } from '../../api/v1alpha1/types.ts';
import { destination, grant } from '../../test/fake-hub.ts';
import { approvalCount, autoApproves, evaluateRequest, resourceMatches, reviewProblem, type RequestContext } from './policy.ts';

const alice = { email: 'alice@example.com', groups: ['okta:Engineering'] };
const bob = { email: 'bob@example.com', groups: ['oncall'] };

function policy(name: string, spec: Partial<AccessPolicy['spec']> = {}): AccessPolicy {
  return {
    apiVersion: 'infrahq.com/v1alpha1',
    kind: 'AccessPolicy',
    metadata: { name },
    spec: { resources: ['production.*'], roles: ['view', 'edit'], requesters: { groups: ['okta:Engineering'] }, maxDuration: '4h', ...spec },
  };
}

const context = (overrides: Partial<RequestContext> = {}): RequestContext => ({
  policies: [policy('engineering', { requireReason: true, approvers: { groups: ['oncall'] } })],
  destination: (name) => (name === 'production' ? destination('production', {}, { roles: ['view', 'edit', 'admin'] }) : undefined),
  grants: [],
  ...overrides,
});

const ask = (spec: Partial<AccessRequest['spec']>, ctx = context(), who = alice) =>
  evaluateRequest({ role: 'edit', resource: 'production.web', duration: '2h', reason: 'INC-1', ...spec }, who, ctx);

describe('evaluateRequest', () => {
  it('picks the first policy, by name, that covers the resource and role and lists the requester', () => {
    const ctx = context({ policies: [policy('zeta'), policy('alpha', { requesters: { users: ['someone@example.com'] } }), policy('beta')] });
    expect(ask({}, ctx)).toMatchObject({ policy: { metadata: { name: 'beta' } }, durationMs: 7_200_000 });
  });

  it.each([
    [{ resource: 'staging.web' }, 'no destination is named staging: see `infra destinations list` for the ones there are'],
    [{ role: 'nope' }, 'destination production has no role nope; its roles are view, edit, admin'],
    [{ resource: 'production' }, 'no AccessPolicy covers production, so nobody may request access there; an Infra admin can add one (docs/access-requests.md)'],
    [{ role: 'admin' }, 'AccessPolicy engineering lets nobody request role admin on production.web; roles you may request there: view, edit'],
    [{ duration: '5h' }, 'AccessPolicy engineering allows at most 4h for role edit on production.web; you asked for 5h: ask for 4h or less'],
    [{ reason: '  ' }, 'AccessPolicy engineering requires a reason: say why you need role edit on production.web (--reason "...")'],
    [{ duration: 'forever' }, 'duration "forever" is not a duration: write it like 30m, 2h or 1h30m'],
  ])('refuses %o, saying why', (spec, message) => {
    expect(ask(spec)).toEqual({ refusal: expect.objectContaining({ message }) });
  });

  it('refuses a requester the policy does not list, naming the policy and who may', () => {
    expect(ask({}, context(), bob)).toEqual({
      refusal: {
        reason: 'NotARequester',
        policy: 'engineering',
        message: 'AccessPolicy engineering does not let bob@example.com request role edit on production.web: only group okta:Engineering may',
      },
    });
  });

  it('refuses access the requester already has, on the namespace or the whole destination', () => {
    const held = grant('alice-edit-production', { user: alice.email, role: 'edit', resource: 'production' });
    expect(ask({}, context({ grants: [held] }))).toEqual({
      refusal: expect.objectContaining({
        reason: 'AlreadyGranted',
        message: 'alice@example.com already has role edit on production (Grant alice-edit-production): there is nothing to request',
      }),
    });
    expect(ask({ role: 'view' }, context({ grants: [held] }))).toHaveProperty('policy');
  });
});

describe('resourceMatches', () => {
  it('matches a destination, a namespace, every namespace of a destination, or all but infra', () => {
    expect(resourceMatches('production', 'production')).toBe(true);
    expect(resourceMatches('production', 'production.web')).toBe(false);
    expect(resourceMatches('production.*', 'production.web')).toBe(true);
    expect(resourceMatches('production.*', 'production')).toBe(false);
    expect(resourceMatches('production.*', 'productionx.web')).toBe(false);
    expect(resourceMatches('*', 'staging.api')).toBe(true);
    expect(resourceMatches('*', 'infra')).toBe(false);
  });
});

describe('reviews', () => {
  const request = (status: AccessRequest['status']): AccessRequest => ({
    apiVersion: 'infrahq.com/v1alpha1',
    kind: 'AccessRequest',
    metadata: { name: 'alice-edit' },
    spec: { role: 'edit', resource: 'production.web', duration: '2h' },
    status,
  });
  const engineering = policy('engineering', { approvers: { groups: ['oncall', 'okta:Engineering'] }, approvalsRequired: 2 });
  const pending = request({ state: 'Pending', requester: 'Alice@Example.com', policy: 'engineering', reviews: [] });

  it('never lets the requester review their own request, even through an approver group', () => {
    expect(reviewProblem(pending, alice, false, engineering, 'Approve')).toBe(
      "nobody may approve their own request, directly or through a group: AccessRequest alice-edit is alice@example.com's; ask another approver",
    );
    expect(reviewProblem(pending, alice, true, engineering, 'Approve')).toMatch(/^nobody may approve their own request/);
  });

  it('lets approvers and Infra admins review a Pending request once', () => {
    expect(reviewProblem(pending, bob, false, engineering, 'Approve')).toBeUndefined();
    const carol = { email: 'carol@example.com', groups: [] };
    expect(reviewProblem(pending, carol, false, engineering, 'Deny')).toBe(
      'AccessPolicy engineering does not let carol@example.com deny AccessRequest alice-edit: its approvers are group oncall, group okta:Engineering, and any admin of Infra',
    );
    expect(reviewProblem(pending, carol, true, engineering, 'Approve')).toBeUndefined();
    const reviewed = request({ ...pending.status, reviews: [{ user: 'BOB@example.com', time: '2030-01-01T00:00:00Z', decision: 'Approve' }] });
    expect(reviewProblem(reviewed, bob, false, engineering, 'Approve')).toBe(
      'bob@example.com already reviewed AccessRequest alice-edit; it needs 2 approvals from different approvers',
    );
    expect(approvalCount(reviewed)).toBe(1);
  });

  it.each(['Approved', 'Denied', 'Expired', 'Cancelled', 'Revoked'] as const)('refuses to review a request that is %s', (state) => {
    expect(reviewProblem(request({ state, requester: alice.email }), bob, true, engineering, 'Approve')).toBe(
      `AccessRequest alice-edit is ${state}: only a Pending request can be approved or denied`,
    );
  });

  it('auto-approves members of the autoApprove groups only', () => {
    const oncall = policy('oncall', { autoApprove: { groups: ['oncall'] } });
    expect(autoApproves(oncall, bob)).toBe(true);
    expect(autoApproves(oncall, alice)).toBe(false);
  });
});
