// AccessRequest controller: admits a new request under its policy (Pending, or approved at
// once for an auto-approve group), gives an approved one its Grant and takes it away at
// expiry, lets an undecided one lapse after the pending timeout, and deletes ended ones
// after the retention. Every state change goes through requests/transitions.ts; the
// reviews themselves (approve, deny, cancel, revoke) arrive through the management API.
import { ApiException, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { parseResource, infraResource, isExpired } from '../../api/grants.ts';
import { accessRequestLabel, hasEnded, requesterAnnotation } from '../../api/requests.ts';
import { resources, type AccessRequest, type Grant } from '../../api/v1alpha1/types.ts';
import type { Controller } from '../../lib/controller/controller.ts';
import { resolveIdentity } from '../access.ts';
import { grantIndex } from '../hub.ts';
import { autoApproves, evaluateRequest } from '../requests/policy.ts';
import { expiryFrom, requestContext } from '../requests/context.ts';
import type { RequestTransitions } from '../requests/transitions.ts';
import { kindController, type ControllerContext } from './context.ts';

/** Who the operator's own transitions are by, in the audit log. */
export const operatorActor = 'infra-operator';

export interface AccessRequestOptions {
  kubeConfig: KubeConfig;
  transitions: RequestTransitions;
  pendingTimeoutMs: number;
  retentionMs: number;
}

/** The Grant an approval makes: the request's role on its resource for its requester, until it expires, owned by it. */
export function requestGrant(request: AccessRequest): Grant {
  const name = request.metadata.name!;
  return {
    apiVersion: 'infrahq.com/v1alpha1',
    kind: 'Grant',
    metadata: {
      name,
      labels: { [accessRequestLabel]: name },
      ownerReferences: [{ apiVersion: request.apiVersion, kind: request.kind, name, uid: request.metadata.uid!, controller: true }],
    },
    spec: { user: request.status!.requester!, role: request.spec.role, resource: request.spec.resource, expiresAt: request.status!.expiresAt! },
  };
}

export function accessRequestController(ctx: ControllerContext, options: AccessRequestOptions): Controller {
  const { hub } = ctx;
  const { transitions } = options;
  const objects = options.kubeConfig.makeApiClient(CustomObjectsApi);
  const grantApi = { group: resources.Grant.group, version: resources.Grant.version, plural: resources.Grant.plural };
  const ignoreNotFound = (err: unknown) => {
    if (!(err instanceof ApiException && err.code === 404)) throw err;
  };
  const deleteGrant = (name: string) => objects.deleteClusterCustomObject({ ...grantApi, name }).catch(ignoreNotFound);
  const grantExists = async (name: string) => {
    if (hub.grants.get(name)) return true;
    try {
      await objects.getClusterCustomObject({ ...grantApi, name });
      return true;
    } catch (err) {
      if (err instanceof ApiException && err.code === 404) return false;
      throw err;
    }
  };

  /** A request nobody has looked at yet: who asked, under which policy; refused, Pending, or approved at once. */
  const admit = async (request: AccessRequest, now: Date) => {
    const requester = request.metadata.annotations?.[requesterAnnotation];
    if (!requester) {
      await transitions.move(request, 'denied', {
        by: operatorActor,
        reason: 'NoRequester',
        refused: true,
        message: `the request carries no ${requesterAnnotation} annotation, so nobody can be granted anything: make requests with \`infra request\`, or install config/admission so kubectl stamps it`,
      });
      return;
    }
    const identity = resolveIdentity(hub, requester);
    const evaluation = evaluateRequest(request.spec, identity, requestContext(hub, identity, now));
    if ('refusal' in evaluation) {
      const { refusal } = evaluation;
      await transitions.move(request, 'denied', {
        by: operatorActor,
        reason: refusal.reason,
        refused: true,
        message: refusal.message,
        status: { requester, ...(refusal.policy ? { policy: refusal.policy } : {}) },
      });
      return;
    }
    const policy = evaluation.policy.metadata.name!;
    const pending = await transitions.move(request, 'new', {
      by: requester,
      reason: 'AwaitingApproval',
      message: `waiting for approval under AccessPolicy ${policy}`,
      status: { requester, policy, reviews: [] },
    });
    if (autoApproves(evaluation.policy, identity)) {
      await transitions.move(pending, 'approved', {
        by: `policy:${policy}`,
        message: `approved at once: ${requester} is in an auto-approve group of AccessPolicy ${policy}`,
        status: { expiresAt: expiryFrom(now, evaluation.durationMs) },
      });
    }
  };

  const controller = kindController(ctx, 'access-request', hub.accessRequests, async (name) => {
    const request = hub.accessRequests.get(name);
    if (!request) return;
    const now = ctx.now();
    const state = request.status?.state;
    if (state === undefined) return void (await admit(request, now));

    if (state === 'Pending') {
      const { destination } = parseResource(request.spec.resource);
      if (destination !== infraResource && !hub.destinations.get(destination)) {
        await transitions.move(request, 'denied', {
          by: operatorActor,
          reason: 'DestinationNotFound',
          message: `destination ${destination} was deleted while the request was pending; nothing was granted`,
        });
        return;
      }
      const lapsesAt = Date.parse(request.metadata.creationTimestamp as unknown as string) + options.pendingTimeoutMs;
      if (now.getTime() >= lapsesAt) {
        await transitions.move(request, 'expired', {
          by: operatorActor,
          reason: 'PendingTimeout',
          message: `nobody decided within the pending timeout; nothing was granted: make a new request if you still need access`,
        });
        return;
      }
      return { requeueAfterMs: lapsesAt - now.getTime() };
    }

    const owned = hub.grants.byIndex(grantIndex.byAccessRequest, name);
    if (state === 'Approved') {
      const grant = requestGrant(request);
      if (isExpired(grant, now)) {
        await transitions.move(request, 'expired', {
          by: operatorActor,
          message: `access as ${request.spec.role} on ${request.spec.resource} ended at ${request.status!.expiresAt}`,
        });
        await Promise.all([...owned.map((g) => g.metadata.name!), grant.metadata.name!].map(deleteGrant));
        return;
      }
      if (request.status?.grant === undefined) {
        await objects.createClusterCustomObject({ ...grantApi, body: grant }).catch((err: unknown) => {
          if (!(err instanceof ApiException && err.code === 409)) throw err;
        });
        await transitions.update(request, { grant: grant.metadata.name! });
      } else if (!(await grantExists(request.status.grant))) {
        await transitions.move(request, 'revoked', {
          by: operatorActor,
          reason: 'GrantDeleted',
          message: `its Grant ${request.status.grant} was deleted, so the access is gone; make a new request if you still need it`,
        });
        return;
      }
      return { requeueAfterMs: Math.max(0, Date.parse(grant.spec.expiresAt!) - now.getTime()) };
    }

    // Ended: nothing of it may still give access; after the retention, the request goes too.
    await Promise.all(owned.map((g) => deleteGrant(g.metadata.name!)));
    if (!hasEnded(request)) return;
    const endedAt = Date.parse(request.status?.endedAt ?? '');
    const collectAt = (Number.isNaN(endedAt) ? now.getTime() : endedAt) + options.retentionMs;
    if (now.getTime() < collectAt) return { requeueAfterMs: collectAt - now.getTime() };
    const { group, version, plural } = resources.AccessRequest;
    await objects.deleteClusterCustomObject({ group, version, plural, name }).catch(ignoreNotFound);
    ctx.audit.info({ action: 'accessrequest.collected', accessRequest: name, state }, 'access request deleted after its retention');
  });

  // A Grant of a request that changes or goes: the request must follow (revoked when its Grant was deleted).
  hub.grants.onChange((grant) => {
    const owner = grant.metadata.labels?.[accessRequestLabel];
    if (owner) controller.enqueue(owner);
  });
  hub.destinations.onChange(() => {
    for (const r of hub.accessRequests.list()) if (r.status?.state === 'Pending') controller.enqueue(r.metadata.name!);
  });
  return controller;
}
