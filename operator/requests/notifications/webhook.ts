// Delivers AccessRequest transitions to one webhook, in the background. notify() only
// queues: a slow, failing or hanging receiver never delays or fails the request whose
// transition it is. Delivery is retried with exponential backoff and jitter, bounded in
// attempts and in time; a full queue drops its oldest transition. The URL is the
// receiver's credential (a Slack webhook URL lets anyone post), so it is read from its
// Secret for each attempt and never written to a log line.
import { setTimeout as sleep } from 'node:timers/promises';
import { errorMessage } from '../../../lib/errors.ts';
import type { Logger } from '../../../lib/log.ts';
import type { NotificationMetrics } from './metrics.ts';
import { payload, type PayloadFormat } from './payloads.ts';
import type { Transition, TransitionType } from './transition.ts';

export interface Notifier {
  /** Queues the transition for delivery and returns at once; never throws. */
  notify(transition: Transition): void;
  /** Stops delivering: what is still queued is dropped (and counted). */
  stop(): Promise<void>;
}

export interface WebhookOptions {
  name: string;
  format: PayloadFormat;
  /** The webhook's URL, read where it is kept (its Secret) for each attempt. */
  url: () => Promise<string>;
  on: readonly TransitionType[];
  queueSize: number;
  maxAttempts: number;
  maxDeliveryMs: number;
  attemptTimeoutMs: number;
  initialBackoffMs: number;
  logger: Logger;
  metrics: NotificationMetrics;
  /** [0, 1), for the jitter; tests fix it. */
  random?: () => number;
}

const maxBackoffMs = 5 * 60_000;
/** Of a refusal's body, what is logged: enough for Slack's reason (invalid_payload, no_service). */
const loggedBodyChars = 200;

type Attempt = { delivered: true } | { delivered: false; retry: boolean; error: string };

/** Answers worth a retry: the receiver's trouble, not a refusal of this payload. */
const retryableStatus = (status: number) => status >= 500 || status === 408 || status === 429;

/** Text from outside (an answer's body, an error) without the URL or its path, which carry the secret. */
function withoutURL(text: string, url: string): string {
  let path = '';
  try {
    path = new URL(url).pathname;
  } catch {
    // not a URL: only the whole value can leak
  }
  const secrets = [url, ...(path.length > 1 ? [path] : [])];
  return secrets.reduce((out, secret) => out.replaceAll(secret, '[redacted]'), text);
}

/** Why a POST failed, from what fetch threw, with nothing of the URL. */
function fetchFailure(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) return `no answer within ${timeoutMs}ms`;
  const cause = err instanceof Error ? (err.cause as { code?: string } | undefined) : undefined;
  return cause?.code ? `could not reach the receiver (${cause.code})` : 'could not reach the receiver';
}

export class WebhookNotifier implements Notifier {
  private readonly options: WebhookOptions;
  private readonly on: Set<TransitionType>;
  private readonly queue: Transition[] = [];
  private readonly stopping = new AbortController();
  private draining: Promise<void> | undefined;
  private readonly random: () => number;

  constructor(options: WebhookOptions) {
    this.options = options;
    this.on = new Set(options.on);
    this.random = options.random ?? Math.random;
  }

  notify(transition: Transition): void {
    try {
      if (this.stopping.signal.aborted || !this.on.has(transition.type)) return;
      if (this.queue.length >= this.options.queueSize) this.drop(this.queue.shift()!, 'the queue is full');
      this.queue.push(transition);
      this.setQueued();
      this.draining ??= this.drain().finally(() => (this.draining = undefined));
    } catch (err) {
      this.options.logger.error({ webhook: this.options.name, err: errorMessage(err) }, 'notification not queued');
    }
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    for (const transition of this.queue.splice(0)) this.drop(transition, 'the operator is stopping');
    this.setQueued();
    await this.draining;
  }

  private async drain(): Promise<void> {
    for (let next = this.queue.shift(); next && !this.stopping.signal.aborted; next = this.queue.shift()) {
      this.setQueued();
      await this.deliver(next);
    }
  }

  private drop(transition: Transition, why: string): void {
    this.options.metrics.count(this.options.name, 'dropped');
    this.options.logger.warn({ webhook: this.options.name, ...describe(transition) }, `notification dropped: ${why}`);
  }

  private setQueued(): void {
    this.options.metrics.queued.set({ webhook: this.options.name }, this.queue.length);
  }

  /** Exponential backoff with equal jitter: half the step for sure, half at random. */
  private backoffMs(attempt: number): number {
    const step = Math.min(maxBackoffMs, this.options.initialBackoffMs * 2 ** (attempt - 1));
    return step / 2 + this.random() * (step / 2);
  }

  private async deliver(transition: Transition): Promise<void> {
    const { name, maxAttempts, maxDeliveryMs, logger, metrics } = this.options;
    const body = JSON.stringify(payload(this.options.format, transition));
    const deadline = Date.now() + maxDeliveryMs;
    const fields = { webhook: name, ...describe(transition) };
    for (let attempt = 1; ; attempt++) {
      const result = await this.attempt(body, deadline);
      if (this.stopping.signal.aborted) return metrics.count(name, 'dropped');
      if (result.delivered) {
        metrics.count(name, 'delivered');
        logger.info({ ...fields, attempts: attempt }, 'notification delivered');
        return;
      }
      const delayMs = this.backoffMs(attempt);
      const giveUp = !result.retry
        ? 'the receiver refused it'
        : attempt >= maxAttempts
          ? `${attempt} attempts failed`
          : Date.now() + delayMs >= deadline
            ? `it could not be delivered within ${maxDeliveryMs}ms`
            : undefined;
      if (giveUp) {
        metrics.count(name, 'failed');
        logger.error({ ...fields, attempts: attempt, error: result.error }, `notification not delivered: ${giveUp}`);
        return;
      }
      logger.warn({ ...fields, attempt, error: result.error, retryInMs: Math.round(delayMs) }, 'notification attempt failed; retrying');
      try {
        await sleep(delayMs, undefined, { signal: this.stopping.signal });
      } catch {
        return metrics.count(name, 'dropped');
      }
    }
  }

  private async attempt(body: string, deadline: number): Promise<Attempt> {
    this.options.metrics.attempts.inc({ webhook: this.options.name });
    let url: string;
    try {
      url = await this.options.url();
    } catch (err) {
      return { delivered: false, retry: true, error: errorMessage(err) };
    }
    const timeoutMs = Math.max(1, Math.min(this.options.attemptTimeoutMs, deadline - Date.now()));
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        redirect: 'error',
        signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), this.stopping.signal]),
      });
      const answer = (await response.text()).slice(0, loggedBodyChars);
      if (response.ok) return { delivered: true };
      return { delivered: false, retry: retryableStatus(response.status), error: withoutURL(`HTTP ${response.status}: ${answer}`, url) };
    } catch (err) {
      return { delivered: false, retry: true, error: fetchFailure(err, timeoutMs) };
    }
  }
}

/** A transition in a log line: which request and what happened, never its reason or comments. */
function describe(transition: Transition): Record<string, string | undefined> {
  return { transition: transition.type, accessRequest: transition.request.metadata.name };
}
