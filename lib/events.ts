// Kubernetes Events about Infra's cluster-scoped objects, so `kubectl describe` and
// `kubectl events` show what happened to a Grant or User. Best effort: an Event that
// cannot be written is logged, never fails the work it describes.
import { randomBytes } from 'node:crypto';
import { CoreV1Api, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { errorMessage } from './errors.ts';
import type { Logger } from './log.ts';

/** Events about cluster-scoped objects live in the default namespace, as kubectl expects. */
const eventNamespace = 'default';

export class Events {
  private readonly core: CoreV1Api;
  private readonly component: string;
  private readonly logger: Logger;

  constructor(kubeConfig: KubeConfig, component: string, logger: Logger) {
    this.core = kubeConfig.makeApiClient(CoreV1Api);
    this.component = component;
    this.logger = logger;
  }

  record(object: KubernetesObject, type: 'Normal' | 'Warning', reason: string, message: string): void {
    const now = new Date();
    const name = `${object.metadata?.name}.${randomBytes(8).toString('hex')}`;
    this.core
      .createNamespacedEvent({
        namespace: eventNamespace,
        body: {
          metadata: { name, namespace: eventNamespace },
          involvedObject: { apiVersion: object.apiVersion, kind: object.kind, name: object.metadata?.name, uid: object.metadata?.uid },
          type,
          reason,
          message,
          source: { component: this.component },
          reportingComponent: this.component,
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
        },
      })
      .catch((err: unknown) => this.logger.warn({ reason, object: object.metadata?.name, err: errorMessage(err) }, 'could not record event'));
  }
}
