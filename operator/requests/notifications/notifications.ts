// The operator's notifications: one background WebhookNotifier per configured webhook,
// behind the one notify() the AccessRequest controller calls on every transition.
import type { Registry } from 'prom-client';
import type { Logger } from '../../../lib/log.ts';
import type { NotificationsConfig, WebhookConfig } from './config.ts';
import { NotificationMetrics } from './metrics.ts';
import type { Transition } from './transition.ts';
import { WebhookNotifier, type Notifier } from './webhook.ts';

export type { Notifier };

export interface NotificationDeps {
  /** The operator's namespace, where the webhooks' Secrets are. */
  namespace: string;
  readSecret: (name: string, key: string) => Promise<string | undefined>;
  registry: Registry;
  logger: Logger;
}

/** Reads a webhook's URL from its Secret; what is wrong says how to fix it and never shows the value. */
export function secretURL(webhook: WebhookConfig, deps: Pick<NotificationDeps, 'namespace' | 'readSecret'>): () => Promise<string> {
  const { name, key } = webhook.urlSecretRef;
  const where = `Secret ${name} key ${key} in namespace ${deps.namespace} (notifications.webhooks ${webhook.name})`;
  const create = `kubectl -n ${deps.namespace} create secret generic ${name} --from-literal=${key}=https://hooks.slack.com/services/…`;
  return async () => {
    const value = (await deps.readSecret(name, key))?.trim();
    if (!value) throw new Error(`${where} does not exist or is empty; create it: ${create}`);
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw new Error(`${where} does not hold a URL; put the webhook's https:// URL in it: ${create}`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error(`${where} holds a ${url.protocol} URL; a webhook's URL starts with https://`);
    return value;
  };
}

export function webhookNotifiers(config: NotificationsConfig, deps: NotificationDeps): Notifier {
  const metrics = new NotificationMetrics(deps.registry);
  const logger = deps.logger.child({ notifications: true });
  const notifiers = config.webhooks.map(
    (webhook) =>
      new WebhookNotifier({
        name: webhook.name,
        format: webhook.format,
        url: secretURL(webhook, deps),
        on: webhook.on,
        queueSize: webhook.queueSize,
        maxAttempts: webhook.maxAttempts,
        maxDeliveryMs: webhook.maxDeliveryTime,
        attemptTimeoutMs: webhook.attemptTimeout,
        initialBackoffMs: webhook.initialBackoff,
        logger,
        metrics,
      }),
  );
  return {
    notify: (transition: Transition) => notifiers.forEach((notifier) => notifier.notify(transition)),
    stop: async () => void (await Promise.all(notifiers.map((notifier) => notifier.stop()))),
  };
}
