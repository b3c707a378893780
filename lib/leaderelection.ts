// Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection does
// it, so that of several replicas of the operator (or connector) exactly one reconciles.
//
// A candidate takes the Lease when it does not exist, when it was released (empty
// holderIdentity), or when its record has not changed for leaseDurationSeconds as
// measured on our own clock since we last saw it change — never by comparing the
// holder's renewTime with our clock, so clock skew between replicas does not matter.
// Every write carries the resourceVersion we read, so of two candidates racing for an
// expired Lease one gets 409 Conflict and stays a candidate.
//
// The leader renews every retryPeriod. If no renewal has succeeded for renewDeadline
// (shorter than the lease duration), or it sees another holder on the Lease, it steps
// down — aborts the signal given to onStartedLeading, waits for that work to settle,
// calls onStoppedLeading — and becomes a candidate again. A leader that cannot renew
// has therefore stopped before any other candidate can consider the Lease expired.
import {
  ApiException,
  CoordinationV1Api,
  Observable,
  V1MicroTime,
  type ConfigurationOptions,
  type KubeConfig,
  type ObservableMiddleware,
  type V1Lease,
  type V1LeaseSpec,
} from '@kubernetes/client-node';
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from 'pino';
import { Gauge, type Registry } from 'prom-client';
import { errorMessage } from './errors.ts';

export interface LeaderElectorOptions {
  kubeConfig: KubeConfig;
  /** Namespace and name of the Lease. */
  namespace: string;
  name: string;
  /** Unique among the candidates (e.g. the pod name); written as the Lease's holderIdentity. */
  identity: string;
  /** How long candidates wait after the last observed renewal before taking over; whole seconds on the Lease (rounded up). */
  leaseDurationMs?: number;
  /** How long the leader keeps leading without a successful renewal. Must be less than leaseDurationMs. */
  renewDeadlineMs?: number;
  /** Interval between renewals and between acquire attempts (the latter jittered up to 2.2×). */
  retryPeriodMs?: number;
  logger: Logger;
  /**
   * Called when this candidate becomes leader. Stop the work when `signal` aborts; a
   * returned promise should settle once it has stopped — the elector waits for it before
   * releasing the Lease or campaigning again.
   */
  onStartedLeading: (signal: AbortSignal) => void | Promise<void>;
  /** Called after each term, once the work from onStartedLeading has settled. */
  onStoppedLeading: () => void;
  /** Where to export `infra_leader{lease}`: 1 while this replica leads, else 0. */
  registry?: Registry;
}

export interface StopOptions {
  /**
   * Release the Lease so a standby takes over at once (default true). `false` leaves it
   * to expire, as when the process crashes.
   */
  release?: boolean;
}

/** The jitter client-go's leader election applies to the acquire retry period. */
const jitterFactor = 1.2;

type Attempt = 'acquired' | 'held' | 'failed';

export class LeaderElector {
  private readonly options: LeaderElectorOptions;
  private readonly api: CoordinationV1Api;
  private readonly logger: Logger;
  private readonly leaseDurationSeconds: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly stopController = new AbortController();
  private release = true;
  private running: Promise<void> | undefined;
  private leading = false;
  /** Our clock: until when no other candidate can have taken the Lease from us (the renew deadline after the last renewal sent). */
  private heldUntilMs = 0;
  private readonly leaderGauge: Gauge<'lease'> | undefined;
  /** The Lease as last read or written, the key of its spec, and when (our clock) that spec last changed. */
  private observed: { lease: V1Lease; record: string; atMs: number } | undefined;
  private lastHolder: string | undefined;

  constructor(options: LeaderElectorOptions) {
    const { leaseDurationMs = 10_000, renewDeadlineMs = 7_000, retryPeriodMs = 2_000 } = options;
    if (!options.identity) throw new Error('leader election: identity must not be empty');
    if (!(retryPeriodMs > 0)) throw new Error('leader election: retryPeriodMs must be positive');
    if (!(renewDeadlineMs > jitterFactor * retryPeriodMs)) {
      throw new Error(`leader election: renewDeadlineMs must be greater than ${jitterFactor} × retryPeriodMs`);
    }
    if (!(leaseDurationMs > renewDeadlineMs)) throw new Error('leader election: leaseDurationMs must be greater than renewDeadlineMs');
    this.options = options;
    this.leaseDurationSeconds = Math.ceil(leaseDurationMs / 1000);
    this.renewDeadlineMs = renewDeadlineMs;
    this.retryPeriodMs = retryPeriodMs;
    this.api = options.kubeConfig.makeApiClient(CoordinationV1Api);
    this.logger = options.logger.child({ lease: `${options.namespace}/${options.name}`, identity: options.identity });
    if (options.registry) {
      this.leaderGauge = new Gauge({
        name: 'infra_leader',
        help: '1 while this replica holds the leader Lease, else 0.',
        labelNames: ['lease'],
        registers: [options.registry],
      });
      this.setLeading(false);
    }
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /**
   * Whether this replica leads and still may act as leader now: its last renewal was sent
   * less than the renew deadline ago. Unlike isLeader, this holds even when the event loop
   * was stalled past the deadline and the renewal loop has not run yet to step down — the
   * fence to check right before a write another leader could contradict.
   */
  get holdsLease(): boolean {
    return this.leading && Date.now() < this.heldUntilMs;
  }

  /** Campaigns, leads, and campaigns again after losing the Lease, until stop(). Never rejects. */
  run(): Promise<void> {
    this.running ??= this.loop();
    return this.running;
  }

  /**
   * Stops campaigning; when leading, aborts the work, waits for it, releases the Lease
   * (unless `release: false`) and calls onStoppedLeading. Resolves when run() has returned.
   */
  async stop(options: StopOptions = {}): Promise<void> {
    if (!this.stopController.signal.aborted) {
      this.release = options.release ?? true;
      this.stopController.abort();
    }
    await this.running;
  }

  private get stopped(): boolean {
    return this.stopController.signal.aborted;
  }

  private async loop(): Promise<void> {
    try {
      for (let acquiredMs = await this.acquire(); acquiredMs !== undefined; acquiredMs = await this.acquire()) {
        await this.lead(acquiredMs);
      }
    } catch (err) {
      // Every step below handles its own errors; this is a last line of defence.
      this.logger.error({ err: errorMessage(err) }, 'leader election stopped unexpectedly');
    }
  }

  /**
   * Tries every retry period (jittered) until this candidate holds the Lease, and returns
   * when (our clock) the successful request was sent; undefined once stopped.
   */
  private async acquire(): Promise<number | undefined> {
    if (!this.stopped) this.logger.info('waiting to acquire the lease');
    while (!this.stopped) {
      const sentMs = Date.now();
      if ((await this.tryAcquireOrRenew(this.renewDeadlineMs)) === 'acquired') return sentMs;
      await this.sleep(this.retryPeriodMs * (1 + Math.random() * jitterFactor));
    }
    return undefined;
  }

  /**
   * One term: starts the work, renews until stopped or renewal fails, then steps down.
   * The renew deadline counts from when the last successful write was sent, which is no
   * later than when any other candidate saw it.
   */
  private async lead(acquiredMs: number): Promise<void> {
    if (this.stopped) {
      // stop() came while the winning request was in flight: give the Lease back unused.
      if (this.release) await this.releaseLease();
      return;
    }
    let lastRenewMs = acquiredMs;
    this.heldUntilMs = acquiredMs + this.renewDeadlineMs;
    const work = new AbortController();
    this.setLeading(true);
    this.logger.info('acquired the lease; leading');
    const settled = this.startWork(work.signal);
    while (!this.stopped) {
      const remainingMs = lastRenewMs + this.renewDeadlineMs - Date.now();
      if (remainingMs <= 0) {
        this.logger.error({ renewDeadlineMs: this.renewDeadlineMs }, 'could not renew the lease within the renew deadline; stepping down');
        break;
      }
      await this.sleep(Math.min(this.retryPeriodMs, remainingMs));
      if (this.stopped) break;
      const sentMs = Date.now();
      const timeoutMs = lastRenewMs + this.renewDeadlineMs - sentMs;
      if (timeoutMs <= 0) continue;
      const result = await this.tryAcquireOrRenew(timeoutMs);
      if (result === 'acquired') {
        lastRenewMs = sentMs;
        this.heldUntilMs = sentMs + this.renewDeadlineMs;
      } else if (result === 'held') {
        this.logger.error({ holder: this.lastHolder }, 'the lease has another holder; stepping down');
        break;
      }
    }
    this.setLeading(false);
    work.abort();
    await settled;
    if (this.stopped && this.release) await this.releaseLease();
    this.logger.info('stopped leading');
    try {
      this.options.onStoppedLeading();
    } catch (err) {
      this.logger.error({ err: errorMessage(err) }, 'onStoppedLeading threw');
    }
  }

  private setLeading(leading: boolean): void {
    this.leading = leading;
    if (!leading) this.heldUntilMs = 0;
    this.leaderGauge?.set({ lease: `${this.options.namespace}/${this.options.name}` }, leading ? 1 : 0);
  }

  /** Runs onStartedLeading; the promise settles (never rejects) when its work has. */
  private async startWork(signal: AbortSignal): Promise<void> {
    try {
      await this.options.onStartedLeading(signal);
    } catch (err) {
      this.logger.error({ err: errorMessage(err) }, 'onStartedLeading failed');
    }
  }

  /**
   * One attempt to create, take over or renew the Lease, within timeoutMs. 'held' means
   * another candidate holds an unexpired Lease; 'failed' covers errors and lost races.
   */
  private async tryAcquireOrRenew(timeoutMs: number): Promise<Attempt> {
    const { namespace, name } = this.options;
    const requestOptions = withSignal(AbortSignal.timeout(timeoutMs));

    // The leader writes over the Lease it last wrote without reading it first; a 409 (or
    // 404) means someone else wrote (or deleted) it since, and the full path below finds
    // out who holds it now.
    if (this.leading && this.observed) {
      try {
        const body = { ...this.observed.lease, spec: this.record(this.observed.lease.spec, Date.now()) };
        this.observe(await this.api.replaceNamespacedLease({ namespace, name, body }, requestOptions));
        return 'acquired';
      } catch (err) {
        const status = httpStatus(err);
        if (status !== 409 && status !== 404) return this.failed('renew', err);
      }
    }

    let lease: V1Lease;
    try {
      lease = await this.api.readNamespacedLease({ namespace, name }, requestOptions);
    } catch (err) {
      if (httpStatus(err) !== 404) return this.failed('read', err);
      try {
        const body: V1Lease = { metadata: { namespace, name }, spec: this.record(undefined, Date.now()) };
        this.observe(await this.api.createNamespacedLease({ namespace, body }, requestOptions));
        return 'acquired';
      } catch (err) {
        return this.failed('create', err);
      }
    }

    this.observe(lease);
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const expiresMs = this.observed!.atMs + (spec.leaseDurationSeconds ?? 0) * 1000;
    if (holder !== '' && holder !== this.options.identity && expiresMs > Date.now()) return 'held';
    try {
      const body = { ...lease, spec: this.record(spec, Date.now()) };
      this.observe(await this.api.replaceNamespacedLease({ namespace, name, body }, requestOptions));
      if (holder !== this.options.identity) this.logger.info({ previousHolder: holder || undefined }, 'took over the lease');
      return 'acquired';
    } catch (err) {
      return this.failed('update', err);
    }
  }

  /** Our record on the Lease: a renewal keeps acquireTime and leaseTransitions, a takeover counts one more transition. */
  private record(previous: V1LeaseSpec | undefined, nowMs: number): V1LeaseSpec {
    const now = new V1MicroTime(nowMs);
    const ours = previous?.holderIdentity === this.options.identity;
    const transitions = previous?.leaseTransitions ?? 0;
    return {
      ...previous,
      holderIdentity: this.options.identity,
      leaseDurationSeconds: this.leaseDurationSeconds,
      acquireTime: ours && previous?.acquireTime ? previous.acquireTime : now,
      renewTime: now,
      leaseTransitions: previous === undefined || ours ? transitions : transitions + 1,
    };
  }

  /** Remembers a Lease read or written; the clock for its expiry restarts only when its record changed. */
  private observe(lease: V1Lease): void {
    const { holderIdentity, leaseDurationSeconds, acquireTime, renewTime, leaseTransitions } = lease.spec ?? {};
    const record = JSON.stringify([holderIdentity, leaseDurationSeconds, acquireTime, renewTime, leaseTransitions]);
    if (this.observed?.record !== record) this.observed = { lease, record, atMs: Date.now() };
    else this.observed.lease = lease;
    const holder = holderIdentity ?? '';
    if (holder !== this.lastHolder) {
      this.lastHolder = holder;
      if (holder !== this.options.identity) this.logger.info({ holder: holder || undefined }, holder ? 'new leader observed' : 'lease is free');
    }
  }

  private failed(action: string, err: unknown): Attempt {
    const status = httpStatus(err); // logged as `status`: the logger redacts `code`
    if (status === 409) this.logger.debug({ action }, 'lost a race for the lease (409 Conflict)');
    else this.logger.warn({ action, status, err: errorMessage(err) }, 'lease request failed');
    return 'failed';
  }

  /** Gives the Lease up so a standby takes it at once: no holder, one-second duration, same resourceVersion. */
  private async releaseLease(): Promise<void> {
    const lease = this.observed?.lease;
    if (lease?.spec?.holderIdentity !== this.options.identity) return;
    const now = new V1MicroTime();
    const body: V1Lease = {
      ...lease,
      spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, acquireTime: now, renewTime: now },
    };
    const { namespace, name } = this.options;
    try {
      this.observe(await this.api.replaceNamespacedLease({ namespace, name, body }, withSignal(AbortSignal.timeout(this.renewDeadlineMs))));
      this.logger.info('released the lease');
    } catch (err) {
      this.failed('release', err);
    }
  }

  /** Waits, returning early when stopped. */
  private async sleep(ms: number): Promise<void> {
    await delay(ms, undefined, { signal: this.stopController.signal }).catch(() => undefined);
  }
}

/**
 * The HTTP status of a failed API call. Only ApiException carries one: a timed-out
 * request rejects with a DOMException whose numeric `code` (23) is not an HTTP status.
 */
function httpStatus(err: unknown): number | undefined {
  return err instanceof ApiException ? err.code : undefined;
}

/** Per-request options that abort the request on `signal` (client-node has no request timeout). */
function withSignal(signal: AbortSignal): ConfigurationOptions<ObservableMiddleware> {
  return {
    middleware: [
      {
        pre: (context) => {
          context.setSignal(signal);
          return new Observable(Promise.resolve(context));
        },
        post: (context) => new Observable(Promise.resolve(context)),
      },
    ],
    middlewareMergeStrategy: 'append',
  };
}
