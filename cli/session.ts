// What most commands start with: the current session's client, and the kubeconfig refresh
// from an AccessReview.
import { resolve } from 'node:path';
import type { AccessReviewStatus } from '../api/auth/v1alpha1/types.ts';
import type { AuthClient, InfraClient } from './api.ts';
import { currentSession, loadConfig, type CurrentSession } from './config.ts';
import type { Io } from './io.ts';
import { saveDestinationNames } from './destination-cache.ts';
import { editKubeconfig, mergeInfra, prefix, type InfraContext } from './kubeconfig.ts';
import { kubeconfigPath } from './paths.ts';

export interface LoggedIn extends CurrentSession {
  client: InfraClient;
}

export function loggedIn(io: Io): LoggedIn {
  const current = currentSession(loadConfig(io.env));
  return { ...current, client: io.client({ server: current.server, trust: current.trust, bearer: current.session.key }) };
}

export interface Refreshed {
  review: AccessReviewStatus;
  contexts: InfraContext[];
  kubeconfig: string;
}

/** AccessReview, then the infra:* kubeconfig entries rewritten to match it. */
export async function refreshKubeconfig(io: Io, client: AuthClient): Promise<Refreshed> {
  const review = await client.create('AccessReview', {});
  return { review, ...writeContexts(io, review) };
}

/** Rewrites the infra:* kubeconfig entries, and the names completion offers, to match an AccessReview. */
export function writeContexts(io: Io, review: AccessReviewStatus): { contexts: InfraContext[]; kubeconfig: string } {
  const kubeconfig = resolve(kubeconfigPath(io.env));
  const contexts = editKubeconfig(kubeconfig, (doc) => mergeInfra(doc, review.destinations, io.exec));
  saveDestinationNames(
    contexts.map((c) => c.name.slice(prefix.length)),
    io.env,
  );
  return { contexts, kubeconfig };
}
