// What happened to the transitions handed to the webhooks, on the operator's /metrics.
import { Counter, Gauge, type Registry } from 'prom-client';

export type NotificationResult = 'delivered' | 'failed' | 'dropped';

export class NotificationMetrics {
  readonly notifications: Counter<'webhook' | 'result'>;
  readonly attempts: Counter<'webhook'>;
  readonly queued: Gauge<'webhook'>;

  constructor(registry: Registry) {
    this.notifications = new Counter({
      name: 'infra_notifications_total',
      help: 'AccessRequest transitions per webhook, by result: delivered, failed (attempts or time ran out, or refused) or dropped (queue full, or shutdown)',
      labelNames: ['webhook', 'result'],
      registers: [registry],
    });
    this.attempts = new Counter({
      name: 'infra_notification_attempts_total',
      help: 'POSTs to a webhook, retries included',
      labelNames: ['webhook'],
      registers: [registry],
    });
    this.queued = new Gauge({
      name: 'infra_notifications_queued',
      help: 'Transitions waiting for delivery, per webhook',
      labelNames: ['webhook'],
      registers: [registry],
    });
  }

  count(webhook: string, result: NotificationResult): void {
    this.notifications.inc({ webhook, result });
  }
}
