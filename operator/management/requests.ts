// AccessRequests on the management API, for everyone logged in, not just Infra admins:
// anyone may ask (the policy decides), approvers review, the requester cancels. The
// requester is always the authenticated caller, stamped by the operator; a body that
// names someone else is refused. Reviews read the request live and write its status
// guarded by resourceVersion, so of two approvers racing exactly one decides; a review
// whose request changed under it is decided again on a fresh read.
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import express, { type Request, type Response } from 'express';
import { parseDuration } from '../../api/duration.ts';
import { infraResource, parseResource } from '../../api/grants.ts';
import { requesterAnnotation, sameUser } from '../../api/requests.ts';
import { resources, type AccessPolicy, type AccessRequest, type AccessRequestSpec } from '../../api/v1alpha1/types.ts';
import { cachedAtOrPast } from '../../lib/controller/read-your-writes.ts';
import type { Logger } from '../../lib/log.ts';
import { StatusError } from '../../lib/status-error.ts';
import { infraRole, type Identity } from '../access.ts';
import { expiryFrom, requestContext } from '../requests/context.ts';
import type { Authenticator, Caller } from '../http/caller.ts';
import { maxBodyBytes } from '../http/body.ts';
import { answerError, authenticationFailed } from '../http/status.ts';
import { grantIndex, type Hub } from '../hub.ts';
import { accessRequestName } from '../names.ts';
import { approvalCount, approvalsRequired, evaluateRequest, isMember, reviewProblem, type Decision } from '../requests/policy.ts';
import { decideOnFreshRead, type RequestTransitions } from '../requests/transitions.ts';
import { createdByAnnotation } from './api.ts';
import { forward, settled } from './writes.ts';

export interface AccessRequestsDeps {
  hub: Hub;
  kubeConfig: KubeConfig;
  bootstrapAdmins: readonly string[];
  transitions: RequestTransitions;
  logger: Logger;
  now: () => Date;
}

const { group, version, plural } = resources.AccessRequest;
const apiVersion = `${group}/${version}`;
const base = `/apis/${group}/${version}/${plural}`;
type Action = 'approve' | 'deny' | 'cancel' | 'revoke';
const actions: readonly Action[] = ['approve', 'deny', 'cancel', 'revoke'];

export function accessRequestsAPI(deps: AccessRequestsDeps, authenticate: Authenticator): express.Router {
  const { hub, transitions } = deps;
  const objects = deps.kubeConfig.makeApiClient(CustomObjectsApi);
  const router = express.Router();

  const route = (verb: string, handle: (caller: Caller, req: Request, res: Response) => Promise<void>) => async (req: Request, res: Response) => {
    try {
      const caller = await authenticate(req);
      if (!caller) throw authenticationFailed();
      await handle(caller, req, res);
    } catch (err) {
      answerError(res, err, deps.logger, { api: 'access-requests', verb, name: req.params['name'] });
    }
  };
  const isAdmin = (identity: Identity) => infraRole(hub, identity, deps.bootstrapAdmins, deps.now()) === 'admin';
  const policyOf = (request: AccessRequest): AccessPolicy | undefined => (request.status?.policy ? hub.accessPolicies.get(request.status.policy) : undefined);
  /** Infra's viewers and admins see every request; anyone else their own and those they may review. */
  const visible = (identity: Identity, request: AccessRequest) =>
    infraRole(hub, identity, deps.bootstrapAdmins, deps.now()) !== undefined ||
    sameUser(request.status?.requester ?? request.metadata.annotations?.[requesterAnnotation], identity.email) ||
    isMember(identity, policyOf(request)?.spec.approvers);
  const live = async (name: string) => (await forward(() => objects.getClusterCustomObject({ group, version, plural, name }))) as AccessRequest;

  router.get(
    base,
    route('list', async (caller, _req, res) => {
      const items = hub.accessRequests
        .list()
        .filter((r) => visible(caller.identity, r))
        .sort((a, b) => String(a.metadata.creationTimestamp).localeCompare(String(b.metadata.creationTimestamp)));
      res.json({ apiVersion, kind: 'AccessRequestList', metadata: {}, items });
    }),
  );

  router.get(
    `${base}/:name`,
    route('get', async (caller, req, res) => {
      const name = String(req.params['name']);
      const request = hub.accessRequests.get(name);
      if (!request || !visible(caller.identity, request)) throw new StatusError(404, 'NotFound', `accessrequests.${group} "${name}" not found`);
      res.json(request);
    }),
  );

  router.post(
    base,
    express.json({ limit: maxBodyBytes, type: () => true }),
    route('create', async (caller, req, res) => {
      const spec = requestedSpec(req.body as unknown, caller.identity.email);
      const evaluation = evaluateRequest(spec, caller.identity, requestContext(hub, caller.identity, deps.now()));
      if ('refusal' in evaluation) throw new StatusError(403, 'Forbidden', evaluation.refusal.message);
      const name = accessRequestName(caller.identity.email, spec.role, spec.resource);
      const body = {
        apiVersion,
        kind: 'AccessRequest',
        metadata: {
          name,
          ...labelsOf(req.body),
          annotations: { [requesterAnnotation]: caller.identity.email, [createdByAnnotation]: caller.identity.email },
        },
        spec,
      };
      await forward(() => objects.createClusterCustomObject({ group, version, plural, body }));
      // The answer shows the request admitted (Pending, or Approved for an auto-approve group) when the controller is quick.
      await settled(hub.accessRequests, name, (cached) => (cached as AccessRequest | undefined)?.status?.state !== undefined);
      res.status(201).json(hub.accessRequests.get(name) ?? body);
    }),
  );

  router.post(
    `${base}/:name/:action`,
    express.json({ limit: maxBodyBytes, type: () => true }),
    route('review', async (caller, req, res) => {
      const action = String(req.params['action']) as Action;
      if (!actions.includes(action)) throw new StatusError(404, 'NotFound', `no action ${action} on an AccessRequest: use approve, deny, cancel or revoke`);
      const comment = commentOf(req.body as unknown);
      const by = caller.identity.email;
      const done = await decideOnFreshRead(
        () => live(String(req.params['name'])),
        (request) => {
          if (action === 'approve' || action === 'deny') return review(request, caller.identity, action === 'approve' ? 'Approve' : 'Deny', comment);
          if (action === 'cancel') return cancel(request, caller.identity);
          return revoke(request, caller.identity, comment);
        },
      );
      const rv = done.metadata.resourceVersion;
      await settled(hub.accessRequests, done.metadata.name!, (cached) => cachedAtOrPast(cached, rv));
      deps.logger.debug({ accessRequest: done.metadata.name, action, by }, 'access request reviewed');
      res.json(done);
    }),
  );

  async function review(request: AccessRequest, reviewer: Identity, decision: Decision, comment: string | undefined): Promise<AccessRequest> {
    const policy = policyOf(request);
    const problem = reviewProblem(request, reviewer, isAdmin(reviewer), policy, decision);
    if (problem)
      throw new StatusError(request.status?.state === 'Pending' ? 403 : 409, request.status?.state === 'Pending' ? 'Forbidden' : 'Conflict', problem);
    const now = deps.now();
    const reviews = [...(request.status?.reviews ?? []), { user: reviewer.email, time: now.toISOString(), decision, ...(comment ? { comment } : {}) }];
    const name = request.metadata.name;
    if (decision === 'Deny') {
      return transitions.move(request, 'denied', {
        by: reviewer.email,
        message: `denied by ${reviewer.email}${comment ? `: ${comment}` : ''}`,
        status: { reviews },
      });
    }
    const reviewed = { ...request, status: { ...request.status, reviews } };
    const needed = approvalsRequired(policy);
    if (approvalCount(reviewed) < needed) return transitions.update(request, { reviews });
    const { destination } = parseResource(request.spec.resource);
    if (destination !== infraResource && !hub.destinations.get(destination)) {
      throw new StatusError(409, 'Conflict', `destination ${destination} of AccessRequest ${name} no longer exists: there is nothing to approve`);
    }
    return transitions.move(request, 'approved', {
      by: reviewer.email,
      message: `approved by ${reviews
        .filter((r) => r.decision === 'Approve')
        .map((r) => r.user)
        .join(', ')}${comment ? `: ${comment}` : ''}`,
      status: { reviews, expiresAt: expiryFrom(now, durationOf(request)) },
    });
  }

  async function cancel(request: AccessRequest, caller: Identity): Promise<AccessRequest> {
    const name = request.metadata.name;
    if (!sameUser(request.status?.requester, caller.email)) {
      throw new StatusError(
        403,
        'Forbidden',
        `only its requester may cancel AccessRequest ${name}; an approver denies it instead (infra requests deny ${name})`,
      );
    }
    if (request.status?.state !== 'Pending') {
      throw new StatusError(
        409,
        'Conflict',
        `AccessRequest ${name} is ${request.status?.state ?? 'not admitted yet'}: only a Pending request can be cancelled`,
      );
    }
    return transitions.move(request, 'cancelled', { by: caller.email, message: `cancelled by its requester` });
  }

  async function revoke(request: AccessRequest, caller: Identity, comment: string | undefined): Promise<AccessRequest> {
    const name = request.metadata.name!;
    const policy = policyOf(request);
    if (!(isAdmin(caller) || isMember(caller, policy?.spec.approvers) || sameUser(request.status?.requester, caller.email))) {
      throw new StatusError(
        403,
        'Forbidden',
        `AccessPolicy ${request.status?.policy ?? '(none)'} does not let ${caller.email} revoke AccessRequest ${name}: only its approvers, an admin of Infra, or the requester may`,
      );
    }
    if (request.status?.state !== 'Approved') {
      throw new StatusError(
        409,
        'Conflict',
        `AccessRequest ${name} is ${request.status?.state ?? 'not admitted yet'}: only an Approved request can be revoked`,
      );
    }
    const revoked = await transitions.move(request, 'revoked', {
      by: caller.email,
      message: `revoked by ${caller.email}${comment ? `: ${comment}` : ''}`,
      status: { reviews: request.status.reviews ?? [] },
    });
    // At once, not at the controller's next look: the connector removes the binding as soon as the Grant goes.
    for (const grant of hub.grants
      .byIndex(grantIndex.byAccessRequest, name)
      .map((g) => g.metadata.name!)
      .concat(request.status.grant ?? [])) {
      await objects.deleteClusterCustomObject({ ...grantPath, name: grant }).catch(() => undefined);
    }
    return revoked;
  }

  return router;
}

const grantPath = { group: resources.Grant.group, version: resources.Grant.version, plural: resources.Grant.plural };

function durationOf(request: AccessRequest): number {
  const ms = parseDuration(request.spec.duration);
  if (!ms) throw new StatusError(422, 'Invalid', `AccessRequest ${request.metadata.name} has duration "${request.spec.duration}", which is not a duration`);
  return ms;
}

/** The spec of a new request from its body; a body that names a requester other than the caller is refused. */
function requestedSpec(body: unknown, caller: string): AccessRequestSpec {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new StatusError(400, 'BadRequest', 'the request body must be an AccessRequest object');
  const {
    apiVersion: av,
    kind,
    metadata,
    spec,
    status,
  } = body as {
    apiVersion?: unknown;
    kind?: unknown;
    metadata?: { annotations?: Record<string, unknown> };
    spec?: Record<string, unknown>;
    status?: { requester?: unknown };
  };
  if (av !== apiVersion || kind !== 'AccessRequest')
    throw new StatusError(400, 'BadRequest', `expected apiVersion ${apiVersion} and kind AccessRequest, got ${String(av)} ${String(kind)}`);
  const named = [status?.requester, metadata?.annotations?.[requesterAnnotation]].find((r) => r !== undefined);
  if (named !== undefined && !(typeof named === 'string' && sameUser(named, caller))) {
    throw new StatusError(
      403,
      'Forbidden',
      `a request is always made by the one who sends it: you are ${caller}, and may not request access for ${JSON.stringify(named)}`,
    );
  }
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec))
    throw new StatusError(422, 'Invalid', 'AccessRequest is invalid: spec: must be an object');
  const text = (field: string, required: boolean) => {
    const value = spec[field];
    if (value === undefined && !required) return undefined;
    if (typeof value !== 'string' || (required && value === ''))
      throw new StatusError(422, 'Invalid', `AccessRequest is invalid: spec.${field}: must be a non-empty string`);
    return value;
  };
  const reason = text('reason', false);
  return { role: text('role', true)!, resource: text('resource', true)!, duration: text('duration', true)!, ...(reason ? { reason } : {}) };
}

/** The body's labels (a GitOps tool's or a script's, to find its requests again), when they are a map of strings. */
function labelsOf(body: unknown): { labels?: Record<string, string> } {
  const labels = (body as { metadata?: { labels?: unknown } }).metadata?.labels;
  const valid = typeof labels === 'object' && labels !== null && !Array.isArray(labels) && Object.values(labels).every((v) => typeof v === 'string');
  return valid ? { labels: labels as Record<string, string> } : {};
}

function commentOf(body: unknown): string | undefined {
  const comment = typeof body === 'object' && body !== null ? (body as { comment?: unknown }).comment : undefined;
  if (comment === undefined) return undefined;
  if (typeof comment !== 'string' || comment.length > 1024) throw new StatusError(422, 'Invalid', 'comment: must be a string of at most 1024 characters');
  return comment;
}
