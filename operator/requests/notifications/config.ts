// The operator's `notifications` setting: the webhooks told about AccessRequest transitions.
import { z } from 'zod';
import { duration } from '../../../api/duration.ts';
import { dnsLabel } from '../../../api/grants.ts';
import { isOperatorSecretName } from '../../secret-refs.ts';
import { payloadFormats } from './payloads.ts';
import { transitionTypes } from './transition.ts';

const dnsSubdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

const webhookConfig = z
  .object({
    /** Names the webhook in logs and metrics. */
    name: z.string().regex(dnsLabel, 'must be a DNS label, e.g. slack').default('webhook'),
    format: z.enum(payloadFormats, { error: `must be one of ${payloadFormats.join(', ')}` }).default('slack'),
    /** The Secret, in the operator's namespace, whose key holds the webhook's URL: the URL is the credential. */
    urlSecretRef: z.object({
      name: z
        .string()
        .regex(dnsSubdomain, 'must be a Secret name')
        .refine(
          (name) => !isOperatorSecretName(name),
          'must not name an infra-* Secret: those belong to the operator; put the URL in a Secret of your own, e.g. slack-webhook',
        ),
      key: z.string().min(1).default('url'),
    }),
    on: z.array(z.enum(transitionTypes)).min(1).default(['new', 'approved', 'denied', 'expired', 'revoked']),
    /** Transitions waiting for delivery; beyond this the oldest is dropped (and counted). */
    queueSize: z.number().int().min(1).default(1000),
    maxAttempts: z.number().int().min(1).max(100).default(8),
    /** The most one transition is retried for, from its first attempt. */
    maxDeliveryTime: duration.prefault('10m'),
    /** How long one attempt waits for the receiver's answer. */
    attemptTimeout: duration.prefault('10s').refine((ms) => ms >= 100, 'must be 100ms or more'),
    /** The first retry's delay before jitter; it doubles per attempt up to 5m. */
    initialBackoff: duration.prefault('1s').refine((ms) => ms >= 1, 'must be more than 0'),
  })
  .strict();

export const notificationsConfig = z
  .object({ webhooks: z.array(webhookConfig).default([]) })
  .strict()
  .refine((config) => new Set(config.webhooks.map((w) => w.name)).size === config.webhooks.length, {
    message: 'webhooks must have different names: give each a name (e.g. slack, audit-sink)',
    path: ['webhooks'],
  });

export type WebhookConfig = z.output<typeof webhookConfig>;
export type NotificationsConfig = z.output<typeof notificationsConfig>;
