// The operator's TLS: a CA kept in a hub Secret (shared by every replica, published as
// the APIService caBundle) and a serving certificate each replica issues itself from it,
// served with the CA's certificate and renewed long before it expires (ServingCertRenewer).
import { X509Certificate } from 'node:crypto';
import type { KubeConfig } from '@kubernetes/client-node';
import { Counter, Gauge, type Registry } from 'prom-client';
import { certificateNames, ensureCASecret } from '../lib/ca-secret.ts';
import { errorMessage } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';
import type { CertificateAuthority, PemPair } from '../lib/pki.ts';

export const servingCASecret = 'infra-operator-ca';

export function ensureServingCA(kubeConfig: KubeConfig, namespace: string): Promise<CertificateAuthority> {
  return ensureCASecret(kubeConfig, namespace, servingCASecret, 'infra-operator');
}

/** DNS names and IPs the serving certificate must carry for both doors. */
export function servingNames(serviceName: string, namespace: string, publicURL: string): { dnsNames: string[]; ipAddresses: string[] } {
  // The aggregator dials <service>.<namespace>.svc and checks the certificate for it.
  return certificateNames([`${serviceName}.${namespace}.svc`, `${serviceName}.${namespace}.svc.cluster.local`], [], publicURL);
}

/**
 * A serving certificate from the shared CA, with the CA's certificate after it: clients
 * that pin the CA's key (infra login --trust-fingerprint) find it in the chain, so their
 * pin holds across renewals and replicas.
 */
export async function issueServingCert(ca: CertificateAuthority, names: { dnsNames: string[]; ipAddresses: string[] }): Promise<PemPair> {
  const leaf = await ca.issue({ commonName: names.dnsNames[0]!, usage: 'server', validFor: { days: 30 }, ...names });
  return { ...leaf, cert: `${leaf.cert.trimEnd()}\n${ca.cert.trimEnd()}\n` };
}

/** How often the serving certificate (valid for 30 days) is renewed while all is well. */
export const servingRenewMs = 24 * 3_600_000;

/**
 * When a certificate in use has less than this fraction of its lifetime left while renewal
 * keeps failing, the replica stops reporting ready. Not at the first failure: renewal
 * starts 29 days before expiry, and what makes one replica's renewal fail (the CA they
 * share, a bug) most likely makes every replica's fail, so failing readiness then would
 * take the whole Service out of rotation while each replica still holds weeks of valid
 * certificate. With a third (10 days of 30) left, the failure has been retried for 19 days
 * and shown in the metrics; a replica that still cannot renew should hand its clients to
 * one that can before its certificate expires under them.
 */
export const unreadyBelowLifetimeFraction = 1 / 3;

export interface ServingCertRenewerOptions {
  /** Issues a new serving certificate. */
  issue: () => Promise<PemPair>;
  /** Puts a new certificate in use (the doors' TLS); a throw counts as a failed renewal. */
  use: (pair: PemPair) => void;
  logger: Logger;
  registry: Registry;
  renewEveryMs?: number;
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
  private readonly options: Required<Omit<ServingCertRenewerOptions, 'registry'>>;
  private readonly failuresTotal: Counter;
  private readonly expiryGauge: Gauge;
  private validity: { notBefore: number; notAfter: number } | undefined;
  private failures = 0;
  private lastError: string | undefined;
  private failingSince: Date | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(options: ServingCertRenewerOptions) {
    this.options = { renewEveryMs: servingRenewMs, firstRetryMs: 1_000, maxRetryMs: 5 * 60_000, random: Math.random, ...options };
    this.failuresTotal = new Counter({
      name: 'infra_operator_serving_certificate_renewal_failures_total',
      help: "Failed renewals of this replica's serving certificate; each is retried with backoff.",
      registers: [options.registry],
    });
    this.expiryGauge = new Gauge({
      name: 'infra_operator_serving_certificate_expiry_timestamp_seconds',
      help: 'When the serving certificate this replica uses expires (Unix time); it is renewed daily, so less than 29 days ahead means renewal is failing.',
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
