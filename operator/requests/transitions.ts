// The one place an AccessRequest changes state. Each transition is a status write guarded
// by the request's resourceVersion (two approvers racing: one wins, the other, deciding
// again on what the winner left, gets 409),
// then a Kubernetes Event on the request, an audit line (who, what, when, why) and the
// injected onTransition hook (notifications), in that order. Nothing after the write
// can change its outcome: the Event, the audit line and the hook only report it.
import { ApiException, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import type { RequestState } from '../../api/requests.ts';
import { resources, type AccessRequest, type AccessRequestStatus } from '../../api/v1alpha1/types.ts';
import { mergeConditions, readiness, type ConditionInput } from '../../lib/conditions.ts';
import { errorMessage } from '../../lib/errors.ts';
import type { Logger } from '../../lib/log.ts';
import { StatusError } from '../../lib/status-error.ts';
import type { ObjectEventRecorder } from '../events.ts';

export const transitionTypes = ['new', 'approved', 'denied', 'expired', 'revoked', 'cancelled'] as const;
export type TransitionType = (typeof transitionTypes)[number];

export interface Transition {
  type: TransitionType;
  /** The request as written, in its new state. */
  request: AccessRequest;
}

/** Told of every transition after it is stored; notifications plug in here. Failures are logged, never undo it. */
export type OnTransition = (transition: Transition) => void | Promise<void>;

const stateOf: Record<TransitionType, RequestState> = {
  new: 'Pending',
  approved: 'Approved',
  denied: 'Denied',
  expired: 'Expired',
  revoked: 'Revoked',
  cancelled: 'Cancelled',
};

/** The change a transition makes: who made it (an email, or the operator), why, and fields beside the state. */
export interface Change {
  by: string;
  message: string;
  /** CamelCase, for the conditions; the state's name when absent. */
  reason?: string;
  /** The request broke a policy: Stalled, so GitOps tools flag it for a person. */
  refused?: boolean;
  status?: Partial<AccessRequestStatus>;
}

export interface TransitionDeps {
  kubeConfig: KubeConfig;
  events: ObjectEventRecorder;
  audit: Logger;
  logger: Logger;
  onTransition?: OnTransition;
  now: () => Date;
}

/** kstatus conditions for a state: Pending waits (Reconciling), a refusal is Stalled, anything else is done. */
export function requestConditions(state: RequestState, reason: string, message: string, refused = false): ConditionInput[] {
  if (state === 'Pending') return readiness({ type: 'Ready', status: 'False', reason, message }, 'waiting');
  if (refused) return readiness({ type: 'Ready', status: 'False', reason, message }, 'stalled');
  return readiness({ type: 'Ready', status: 'True', reason, message });
}

/** A transition's write found the request changed since the read it was decided on. */
export class RequestChanged extends StatusError {
  constructor(name: string) {
    super(409, 'Conflict', `AccessRequest ${name} changed while this was decided: look at it again`);
  }
}

/** How many reads a decision gets when the request keeps changing under it. */
const decisionAttempts = 3;

/**
 * Reads the request and decides on it (`decide` checks it and moves it). When the request
 * changed between the two, the decision is checked and made again on a fresh read: a status
 * write that decides nothing, such as the operator recording an approved request's Grant,
 * does not turn a reviewer away, while a competing decision still does, through the
 * checks, which then see the state it left.
 */
export async function decideOnFreshRead(
  read: () => Promise<AccessRequest>,
  decide: (request: AccessRequest) => Promise<AccessRequest>,
): Promise<AccessRequest> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await decide(await read());
    } catch (err) {
      if (!(err instanceof RequestChanged) || attempt >= decisionAttempts) throw err;
    }
  }
}

export class RequestTransitions {
  private readonly api: CustomObjectsApi;
  private readonly deps: TransitionDeps;

  constructor(deps: TransitionDeps) {
    this.deps = deps;
    this.api = deps.kubeConfig.makeApiClient(CustomObjectsApi);
  }

  /** Moves the request (as last read: its resourceVersion guards the write) to the transition's state. */
  async move(request: AccessRequest, type: TransitionType, change: Change): Promise<AccessRequest> {
    const state = stateOf[type];
    const now = this.deps.now();
    const ended = state !== 'Pending' && state !== 'Approved';
    const reason = change.reason ?? state;
    const status: AccessRequestStatus = {
      ...request.status,
      ...change.status,
      state,
      message: change.message,
      ...(ended ? { endedAt: now.toISOString() } : {}),
      conditions: mergeConditions(
        request.status?.conditions,
        requestConditions(state, reason, change.message, change.refused),
        request.metadata.generation,
        now,
      ),
    };
    const written = await this.write(request, status);
    this.report(written, type, change);
    return written;
  }

  /** A status write that is no transition (an approval short of the count, the Grant's name); resourceVersion-guarded too. */
  async update(request: AccessRequest, status: Partial<AccessRequestStatus>): Promise<AccessRequest> {
    return this.write(request, { ...request.status, ...status });
  }

  private async write(request: AccessRequest, status: AccessRequestStatus): Promise<AccessRequest> {
    const { group, version, plural } = resources.AccessRequest;
    const observed = request.metadata.generation === undefined ? {} : { observedGeneration: request.metadata.generation };
    const body = { apiVersion: request.apiVersion, kind: request.kind, metadata: request.metadata, spec: request.spec, status: { ...status, ...observed } };
    try {
      return (await this.api.replaceClusterCustomObjectStatus({ group, version, plural, name: request.metadata.name!, body })) as AccessRequest;
    } catch (err) {
      if (err instanceof ApiException && err.code === 409) throw new RequestChanged(request.metadata.name!);
      throw err;
    }
  }

  private report(request: AccessRequest, type: TransitionType, change: Change): void {
    const { events, audit, logger, onTransition } = this.deps;
    const name = request.metadata.name!;
    audit.info(
      {
        action: `accessrequest.${type}`,
        accessRequest: name,
        by: change.by,
        requester: request.status?.requester,
        role: request.spec.role,
        resource: request.spec.resource,
        duration: request.spec.duration,
        state: request.status?.state,
        policy: request.status?.policy,
        why: change.message,
        ...(request.status?.expiresAt ? { expiresAt: request.status.expiresAt } : {}),
      },
      `access request ${type}`,
    );
    // Events are readable by more people than the audit log: they say what, never who (operator/events.ts).
    events.record(request, change.refused ? 'Warning' : 'Normal', change.reason ?? stateOf[type], change.message);
    if (!onTransition) return;
    Promise.resolve()
      .then(() => onTransition({ type, request }))
      .catch((err: unknown) =>
        logger.warn({ accessRequest: name, transition: type, err: errorMessage(err) }, 'the transition hook failed; the transition stands'),
      );
  }
}
