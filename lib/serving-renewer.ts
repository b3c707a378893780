// A serving certificate renewed on a schedule while the server runs, for the operator's
// doors and the connector's proxy: a failed renewal keeps the certificate in use and is
// retried with backoff, counted in metrics, and turns readiness off only when the
// certificate is close to expiry.
import { X509Certificate } from 'node:crypto';
import { Counter, Gauge, type Registry } from 'prom-client';
import { errorMessage } from './errors.ts';
import type { Logger } from './log.ts';
import type { PemPair } from './pki.ts';

/**
 * When a certificate in use has less than this fraction of its lifetime left while renewal
 * keeps failing, the replica stops reporting ready. Not at the first failure: the operator
 * renews a 30-day certificate daily, so renewal starts 29 days before expiry, and what makes
 * one replica's renewal fail (the CA they share, a bug) most likely makes every replica's
 * fail, so failing readiness then would take the whole Service out of rotation while each
 * replica still holds weeks of valid certificate. With a third (10 days of 30) left, the
 * failure has been retried for 19 days and shown in the metrics; a replica that still
 * cannot renew should hand its clients to one that can before its certificate expires
 * under them.
 */
export const unreadyBelowLifetimeFraction = 1 / 3;

export interface ServingCertRenewerOptions {
  /** The program whose certificate this is, naming its metrics: infra_<program>_serving_certificate_…. */
  program: 'operator' | 'connector';
  /** Issues a new serving certificate. */
  issue: () => Promise<PemPair>;
  /** Puts a new certificate in use (the doors' TLS); a throw counts as a failed renewal. */
  use: (pair: PemPair) => void;
  logger: Logger;
  registry: Registry;
  /** How often the certificate is renewed while all is well: well inside its lifetime. */
  renewEveryMs: number;
  /** The first retry after a failure; each further one waits twice as long, up to maxRetryMs. */
  firstRetryMs?: number;
  maxRetryMs?: number;
  /** [0, 1): takes up to a fifth off each retry delay, so replicas failing together spread out. */
  random?: () => number;
}

/**
 * Renews this replica's serving certificate on a schedule. A failed renewal is logged and
 * retried with exponential backoff (1 s doubling to 5 min, jittered) until one succeeds,
 * after which the schedule resumes; the failures and the expiry of the certificate in use
 * are metrics, and readiness() says why the replica should not serve once the certificate
 * is close to expiry and renewal is still failing.
 */
export class ServingCertRenewer {
  private readonly options: Required<Omit<ServingCertRenewerOptions, 'registry' | 'program'>>;
  private readonly failuresTotal: Counter;
  private readonly expiryGauge: Gauge;
  private validity: { notBefore: number; notAfter: number } | undefined;
  private failures = 0;
  private lastError: string | undefined;
  private failingSince: Date | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(options: ServingCertRenewerOptions) {
    this.options = { firstRetryMs: 1_000, maxRetryMs: 5 * 60_000, random: Math.random, ...options };
    this.failuresTotal = new Counter({
      name: `infra_${options.program}_serving_certificate_renewal_failures_total`,
      help: "Failed renewals of this replica's serving certificate; each is retried with backoff.",
      registers: [options.registry],
    });
    this.expiryGauge = new Gauge({
      name: `infra_${options.program}_serving_certificate_expiry_timestamp_seconds`,
      help: 'When the serving certificate this replica uses expires (Unix time); closer than its lifetime minus the renewal interval means renewal is failing.',
      registers: [options.registry],
    });
  }

  /** Records the certificate in use and schedules its renewal. */
  start(current: PemPair): void {
    this.stopped = false;
    this.track(current);
    this.schedule(this.options.renewEveryMs);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Why this replica should not be ready, or undefined: see unreadyBelowLifetimeFraction. */
  readiness(now = Date.now()): string | undefined {
    if (this.failures === 0 || !this.validity) return undefined;
    const { notBefore, notAfter } = this.validity;
    if (notAfter - now >= (notAfter - notBefore) * unreadyBelowLifetimeFraction) return undefined;
    return `the serving certificate ${notAfter > now ? 'expires' : 'expired'} at ${new Date(notAfter).toISOString()} and renewing it has failed ${this.failures} time(s) since ${this.failingSince!.toISOString()}: ${this.lastError}`;
  }

  /** The wait before the next try after `failures` failures in a row. */
  retryDelay(failures: number): number {
    const { firstRetryMs, maxRetryMs, random } = this.options;
    const capped = Math.min(maxRetryMs, firstRetryMs * 2 ** Math.min(failures - 1, 30));
    return Math.round(capped * (1 - 0.2 * random()));
  }

  private async renew(): Promise<void> {
    let delay: number;
    try {
      const pair = await this.options.issue();
      this.options.use(pair);
      this.track(pair);
      const expiresAt = new Date(this.validity!.notAfter).toISOString();
      if (this.failures > 0) this.options.logger.info({ expiresAt, failures: this.failures }, 'serving certificate renewed after failures');
      else this.options.logger.debug({ expiresAt }, 'serving certificate renewed');
      this.failures = 0;
      this.lastError = undefined;
      this.failingSince = undefined;
      delay = this.options.renewEveryMs;
    } catch (err) {
      this.failures += 1;
      this.failuresTotal.inc();
      this.lastError = errorMessage(err);
      this.failingSince ??= new Date();
      delay = this.retryDelay(this.failures);
      this.options.logger.error(
        { err: this.lastError, failures: this.failures, retryInMs: delay, expiresAt: this.validity && new Date(this.validity.notAfter).toISOString() },
        'renewing the serving certificate failed; keeping the current one and retrying',
      );
    }
    this.schedule(delay);
  }

  private track(pair: PemPair): void {
    const cert = new X509Certificate(pair.cert);
    this.validity = { notBefore: cert.validFromDate.getTime(), notAfter: cert.validToDate.getTime() };
    this.expiryGauge.set(this.validity.notAfter / 1000);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.renew(), delayMs);
    this.timer.unref();
  }
}
