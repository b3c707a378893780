// A controller: a work queue of object keys and workers that call reconcile(key) for
// them. Informer handlers only enqueue; everything that can fail happens in reconcile,
// where a failure is logged and the key retried with backoff. A periodic resync
// re-queues every key, so a missed event or a hand edit is repaired in bounded time.
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Logger } from 'pino';
import { Counter, Histogram, type Registry } from 'prom-client';
import { errorMessage } from '../errors.ts';
import { WorkQueue, type BackoffOptions } from './workqueue.ts';

export interface ReconcileResult {
  /** Reconcile this key again after this many milliseconds (e.g. a grant's expiry). */
  requeueAfterMs?: number;
}

/**
 * How long a worker may run reconciles back to back before it lets timers and I/O in. A
 * reconcile with nothing to write never leaves the microtask queue (the work queue hands
 * out a waiting key at once), so without this a resync of 100,000 keys would hold the
 * event loop for seconds: no Lease renewal, no token request, no /healthz until it ends.
 */
const workerSliceMs = 5;

export type Reconciler = (key: string) => Promise<ReconcileResult | void>;

export interface ControllerOptions {
  name: string;
  reconcile: Reconciler;
  logger: Logger;
  metrics: ControllerMetrics;
  workers?: number;
  backoff?: BackoffOptions;
  /** Keys to re-queue on every resync (usually every key in the informer's cache). */
  resyncKeys?: () => Iterable<string>;
  resyncIntervalMs?: number;
}

export class ControllerMetrics {
  readonly reconciles: Counter<'controller' | 'result'>;
  readonly duration: Histogram<'controller'>;

  constructor(registry: Registry) {
    this.reconciles = new Counter({
      name: 'infra_reconcile_total',
      help: 'Reconciles by controller and result (success, error, requeue).',
      labelNames: ['controller', 'result'],
      registers: [registry],
    });
    this.duration = new Histogram({
      name: 'infra_reconcile_duration_seconds',
      help: 'Time spent in reconcile, by controller.',
      labelNames: ['controller'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers: [registry],
    });
  }
}

export class Controller {
  readonly name: string;
  readonly queue: WorkQueue<string>;
  private readonly options: ControllerOptions;
  private readonly logger: Logger;
  private resyncTimer: NodeJS.Timeout | undefined;
  private workers: Promise<void>[] = [];
  private running = false;

  constructor(options: ControllerOptions) {
    this.options = options;
    this.name = options.name;
    this.queue = new WorkQueue(options.backoff);
    this.logger = options.logger.child({ controller: options.name });
  }

  enqueue(key: string): void {
    if (this.logger.isLevelEnabled('debug')) this.logger.debug({ key }, 'enqueued');
    this.queue.add(key);
  }

  /**
   * Starts the workers and queues every key once. Handlers may enqueue before start (the
   * queue just holds the keys), so a controller can be wired up once and started and
   * stopped with each leadership term.
   */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.queue.resume();
    const { resyncIntervalMs = 5 * 60_000, workers = 2 } = this.options;
    this.resync();
    this.resyncTimer = setInterval(() => this.resync(), resyncIntervalMs);
    this.resyncTimer.unref();
    this.workers = Array.from({ length: workers }, () => this.work());
  }

  /** Stops taking keys and waits for reconciles in flight to finish; start() resumes. */
  async stop(): Promise<void> {
    this.running = false;
    clearInterval(this.resyncTimer);
    // Workers in a reconcile finish it and then stop too: a paused queue hands out no key.
    this.queue.pause();
    await Promise.all(this.workers);
  }

  private resync(): void {
    for (const key of this.options.resyncKeys?.() ?? []) this.queue.add(key);
  }

  private async work(): Promise<void> {
    const { name, reconcile, metrics } = this.options;
    let sliceStart = performance.now();
    for (let key = await this.queue.get(); key !== undefined; key = await this.queue.get()) {
      const end = metrics.duration.startTimer({ controller: name });
      if (this.logger.isLevelEnabled('debug')) this.logger.debug({ key }, 'reconcile started');
      try {
        const result = await reconcile(key);
        this.queue.forget(key);
        if (result?.requeueAfterMs !== undefined) this.queue.addAfter(key, result.requeueAfterMs);
        metrics.reconciles.inc({ controller: name, result: result?.requeueAfterMs !== undefined ? 'requeue' : 'success' });
      } catch (err) {
        const retryInMs = this.queue.addRateLimited(key);
        metrics.reconciles.inc({ controller: name, result: 'error' });
        this.logger.error({ key, err: errorMessage(err), retryInMs, failures: this.queue.failureCount(key) }, 'reconcile failed');
      } finally {
        end();
        this.queue.done(key);
      }
      if (performance.now() - sliceStart >= workerSliceMs) {
        await nextTurn();
        sliceStart = performance.now();
      }
    }
  }
}
