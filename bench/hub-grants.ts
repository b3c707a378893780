// Grants in the hub as a watch delivers them, to know when a Grant has settled: labelled
// with its destination, and its status written by the operator and the connector for its
// generation. A new Grant sets off up to four hub writes (the operator's label and status,
// the connector's Synced, the operator's Ready); a revocation timed before they are done
// would share two cores and the hub with them, which a Grant revoked in practice, in place
// for a while, does not.
import type { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { resources, type Grant } from '../api/v1alpha1/types.ts';
import { destinationLabel } from '../api/grants.ts';
import { findCondition } from '../lib/conditions.ts';
import { Informer } from '../lib/controller/informer.ts';
import { resourcePath, RestClient } from '../lib/rest.ts';

/**
 * Whether nothing is left to write on this Grant: labelled, observed by the operator
 * (SubjectFound, either way), Synced and Ready, all for its generation.
 */
export function grantSettled(grant: Grant): boolean {
  const generation = grant.metadata.generation;
  const current = (type: string, ...statuses: string[]) => {
    const condition = findCondition(grant.status?.conditions, type);
    return condition !== undefined && statuses.includes(condition.status) && condition.observedGeneration === generation;
  };
  return (
    grant.metadata.labels?.[destinationLabel] !== undefined &&
    grant.status?.observedGeneration === generation &&
    current('SubjectFound', 'True', 'False') &&
    current('Synced', 'True') &&
    current('Ready', 'True')
  );
}

export class HubGrants {
  readonly #informer: Informer<Grant>;
  readonly #waiters = new Map<string, () => void>();

  private constructor(kubeConfig: KubeConfig, labelSelector: string) {
    const { group, version, plural } = resources.Grant;
    const path = resourcePath(group, version, plural);
    const api = new RestClient(kubeConfig);
    this.#informer = new Informer<Grant>({
      kubeConfig,
      logger: pino({ level: 'warn' }, pino.destination(2)),
      path,
      labelSelector,
      list: (page) => api.list<Grant>(path, page),
    });
    this.#informer.onChange((grant, event) => {
      const name = grant.metadata.name!;
      if (event !== 'delete' && grantSettled(grant)) this.#waiters.get(name)?.();
    });
  }

  /** Lists the hub's Grants that `labelSelector` selects, then watches them until stop(). */
  static async start(kubeConfig: KubeConfig, labelSelector: string): Promise<HubGrants> {
    const grants = new HubGrants(kubeConfig, labelSelector);
    await grants.#informer.start();
    await grants.#informer.waitForSync();
    return grants;
  }

  stop(): Promise<void> {
    return this.#informer.stop();
  }

  /** Resolves once the watch shows the Grant settled; rejects after timeoutMs with what it says. */
  settled(name: string, timeoutMs: number): Promise<void> {
    const grant = this.#informer.get(name);
    if (grant && grantSettled(grant)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(name);
        const status = this.#informer.get(name)?.status;
        reject(new Error(`Grant ${name} not settled after ${timeoutMs / 1000} s; its status: ${JSON.stringify(status ?? '(not seen)')}`));
      }, timeoutMs);
      this.#waiters.set(name, () => {
        clearTimeout(timer);
        this.#waiters.delete(name);
        resolve();
      });
    });
  }
}
