import { X509Certificate } from 'node:crypto';
import { get, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createCertificateAuthority, type PemPair } from './pki.ts';
import { close, healthServer, listen } from './serve.ts';
import { ServingCertRenewer } from './serving-renewer.ts';

const second = 1_000;
const day = 86_400_000;
/** The operator's schedule: daily, for a 30-day certificate. */
const servingRenewMs = day;
const failuresMetric = 'infra_operator_serving_certificate_renewal_failures_total';
const expiryMetric = 'infra_operator_serving_certificate_expiry_timestamp_seconds';

// Real certificates, issued before the clock is faked; each test's fake clock starts when they were.
let issuedAt: number;
let thirtyDays: PemPair;
let sixtyDays: PemPair;

beforeAll(async () => {
  const ca = await createCertificateAuthority('infra-operator-test-ca');
  issuedAt = Date.now();
  thirtyDays = await ca.issue({ commonName: 'infra-operator', usage: 'server', validFor: { days: 30 } });
  sixtyDays = await ca.issue({ commonName: 'infra-operator', usage: 'server', validFor: { days: 60 } });
});

afterEach(() => {
  vi.useRealTimers();
});

const expiresAt = (pair: PemPair) => new X509Certificate(pair.cert).validToDate.getTime();

function setup(issue: () => Promise<PemPair>, random = () => 0) {
  vi.useFakeTimers({ now: issuedAt });
  const registry = new Registry();
  const logs: { level: number; msg: string; err?: string; failures?: number; retryInMs?: number }[] = [];
  const logger = pino(
    { level: 'debug' },
    new Writable({ write: (chunk: Buffer, _encoding, done) => (logs.push(JSON.parse(chunk.toString()) as (typeof logs)[number]), done()) }),
  );
  const used: PemPair[] = [];
  const renewer = new ServingCertRenewer({
    program: 'operator',
    renewEveryMs: servingRenewMs,
    issue,
    use: (pair) => void used.push(pair),
    logger,
    registry,
    random,
  });
  const metric = async (name: string) => (await registry.getSingleMetric(name)!.get()).values[0]?.value;
  return { renewer, registry, logs, used, metric };
}

describe('serving certificate renewal', () => {
  it('renews on schedule, puts the new certificate in use and publishes its expiry', async () => {
    const issue = vi.fn(async () => sixtyDays);
    const { renewer, used, metric } = setup(issue);
    renewer.start(thirtyDays);
    expect(await metric(expiryMetric)).toBe(expiresAt(thirtyDays) / 1000);

    await vi.advanceTimersByTimeAsync(servingRenewMs - 1);
    expect(issue).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(issue).toHaveBeenCalledTimes(1);
    expect(used).toEqual([sixtyDays]);
    expect(await metric(expiryMetric)).toBe(expiresAt(sixtyDays) / 1000);

    await vi.advanceTimersByTimeAsync(servingRenewMs);
    expect(issue).toHaveBeenCalledTimes(2);
    renewer.stop();
    await vi.advanceTimersByTimeAsync(2 * servingRenewMs);
    expect(issue).toHaveBeenCalledTimes(2);
  });

  it('retries a failed renewal with doubling delays up to 5 minutes, counting and logging each failure; a success resets', async () => {
    let failuresLeft = 12;
    const attempts: number[] = [];
    const issue = async () => {
      attempts.push(Date.now());
      if (failuresLeft-- > 0) throw new Error('the CA cannot sign');
      return sixtyDays;
    };
    const { renewer, used, logs, metric } = setup(issue);
    renewer.start(thirtyDays);

    await vi.advanceTimersByTimeAsync(servingRenewMs + 2 * 3_600_000);
    const gaps = attempts.slice(1).map((at, i) => at - attempts[i]!);
    expect(gaps).toEqual([1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300].map((s) => s * second));
    expect(used).toEqual([sixtyDays]);
    expect(await metric(failuresMetric)).toBe(12);
    const failures = logs.filter((l) => l.msg.startsWith('renewing the serving certificate failed'));
    expect(failures).toHaveLength(12);
    expect(failures[0]).toMatchObject({ level: 50, err: 'the CA cannot sign', failures: 1, retryInMs: 1_000 });
    expect(failures[11]).toMatchObject({ failures: 12, retryInMs: 300_000 });
    expect(logs.at(-1)).toMatchObject({ msg: 'serving certificate renewed after failures', failures: 12 });

    // Back on the daily schedule; the next failure starts again at the first delay.
    failuresLeft = 1;
    const before = attempts.length;
    await vi.advanceTimersByTimeAsync(servingRenewMs);
    expect(attempts.length - before).toBe(2);
    expect(attempts.at(-1)! - attempts.at(-2)!).toBe(1 * second);
    expect(await metric(failuresMetric)).toBe(13);
    renewer.stop();
  });

  it('counts a certificate that cannot be put in use as a failed renewal, and retries it', async () => {
    const registry = new Registry();
    vi.useFakeTimers({ now: issuedAt });
    let refuse = true;
    const used: PemPair[] = [];
    const use = (pair: PemPair) => {
      if (refuse) throw new Error('setSecureContext: bad certificate');
      used.push(pair);
    };
    const renewer = new ServingCertRenewer({
      program: 'operator',
      renewEveryMs: servingRenewMs,
      issue: async () => sixtyDays,
      use,
      logger: pino({ level: 'silent' }),
      registry,
      random: () => 0,
    });
    renewer.start(thirtyDays);
    await vi.advanceTimersByTimeAsync(servingRenewMs);
    expect((await registry.getSingleMetric(failuresMetric)!.get()).values[0]?.value).toBe(1);
    expect((await registry.getSingleMetric(expiryMetric)!.get()).values[0]?.value).toBe(expiresAt(thirtyDays) / 1000);
    refuse = false;
    await vi.advanceTimersByTimeAsync(1 * second);
    expect(used).toEqual([sixtyDays]);
    expect((await registry.getSingleMetric(expiryMetric)!.get()).values[0]?.value).toBe(expiresAt(sixtyDays) / 1000);
    renewer.stop();
  });

  it('takes up to a fifth off each retry delay, and never waits past the cap', () => {
    const half = setup(
      async () => sixtyDays,
      () => 0.5,
    ).renewer;
    expect([1, 2, 3, 9, 10, 40].map((n) => half.retryDelay(n))).toEqual([900, 1_800, 3_600, 230_400, 270_000, 270_000]);
    const most = setup(
      async () => sixtyDays,
      () => 0.9999,
    ).renewer;
    expect(most.retryDelay(1)).toBe(800);
    expect(
      setup(
        async () => sixtyDays,
        () => 0,
      ).renewer.retryDelay(40),
    ).toBe(300_000);
  });

  it('stays ready through failures while the certificate has time left, and reports not ready, naming the error, once less than a third is left', async () => {
    let failing = true;
    const issue = async () => {
      if (failing) throw new Error('the CA cannot sign: key unusable');
      return sixtyDays;
    };
    const { renewer, registry } = setup(issue);
    renewer.start(thirtyDays);
    expect(renewer.readiness()).toBeUndefined();

    await vi.advanceTimersByTimeAsync(servingRenewMs + 10 * second);
    expect((await registry.getSingleMetric(failuresMetric)!.get()).values[0]?.value).toBeGreaterThan(0);
    expect(renewer.readiness()).toBeUndefined();

    // 30 days and 5 minutes (the backdating) of lifetime: a third is 10 days and 100 s.
    await vi.advanceTimersByTimeAsync(issuedAt + 19.9 * day - Date.now());
    expect(renewer.readiness()).toBeUndefined();
    await vi.advanceTimersByTimeAsync(0.2 * day);
    const reason = renewer.readiness();
    expect(reason).toMatch(/^the serving certificate expires at \S+ and renewing it has failed \d+ time\(s\) since \S+: the CA cannot sign: key unusable$/);

    // What /readyz answers with that reason.
    const server: Server = await listen(
      healthServer(registry, () => renewer.readiness()),
      '127.0.0.1:0',
    );
    try {
      const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        get(`http://127.0.0.1:${(server.address() as AddressInfo).port}/readyz`, (res) => {
          let body = '';
          res.on('data', (chunk: Buffer) => (body += chunk.toString()));
          res.on('end', () => resolve({ status: res.statusCode!, body }));
        }).on('error', reject);
      });
      expect(answer).toEqual({ status: 503, body: `not ready: ${reason}` });
    } finally {
      await close(server);
    }

    failing = false;
    await vi.advanceTimersByTimeAsync(5 * 60 * second);
    expect(renewer.readiness()).toBeUndefined();
    renewer.stop();
  });
});
