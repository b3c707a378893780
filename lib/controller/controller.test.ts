import { pino } from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { Controller, ControllerMetrics } from './controller.ts';
import { asError } from '../errors.ts';

const logger = pino({ level: 'silent' });

function eventually(check: () => void, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      try {
        check();
        resolve();
      } catch (err) {
        if (Date.now() > deadline) reject(asError(err));
        else setTimeout(attempt, 5);
      }
    };
    attempt();
  });
}

describe('Controller', () => {
  it('retries a failing key with backoff until it succeeds, and counts the results', async () => {
    const registry = new Registry();
    let attempts = 0;
    const controller = new Controller({
      name: 'flaky',
      logger,
      metrics: new ControllerMetrics(registry),
      backoff: { baseMs: 1, maxMs: 10 },
      reconcile: async () => {
        attempts++;
        if (attempts < 3) throw new Error('not yet');
      },
    });
    controller.start();
    controller.enqueue('k');
    await eventually(() => expect(attempts).toBe(3));
    await controller.stop();
    const metrics = await registry.getMetricsAsJSON();
    const reconciles = metrics.find((m) => m.name === 'infra_reconcile_total')!.values;
    expect(reconciles).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ labels: { controller: 'flaky', result: 'error' }, value: 2 }),
        expect.objectContaining({ labels: { controller: 'flaky', result: 'success' }, value: 1 }),
      ]),
    );
  });

  it('requeues after the delay reconcile asks for, and resyncs every key periodically', async () => {
    const seen: string[] = [];
    const controller = new Controller({
      name: 'timed',
      logger,
      metrics: new ControllerMetrics(new Registry()),
      resyncKeys: () => ['resynced'],
      resyncIntervalMs: 20,
      reconcile: async (key) => {
        seen.push(key);
        return key === 'expiring' && seen.filter((k) => k === 'expiring').length === 1 ? { requeueAfterMs: 10 } : undefined;
      },
    });
    controller.start();
    controller.enqueue('expiring');
    await eventually(() => {
      expect(seen.filter((k) => k === 'expiring')).toHaveLength(2);
      expect(seen).toContain('resynced');
    });
    await controller.stop();
  });

  it('stop() returns once the reconciles in flight finish, takes no further key, and start() goes on with it', async () => {
    const reconciled: string[] = [];
    const gates: (() => void)[] = [];
    const controller = new Controller({
      name: 'stopping',
      logger,
      metrics: new ControllerMetrics(new Registry()),
      workers: 2,
      reconcile: async (key) => {
        await new Promise<void>((resolve) => gates.push(resolve));
        reconciled.push(key);
      },
    });
    controller.start();
    for (const key of ['a', 'b', 'c']) controller.enqueue(key);
    await eventually(() => expect(gates).toHaveLength(2)); // a and b in flight, c queued
    const stopped = controller.stop();
    for (const open of gates.splice(0)) open();
    const outcome = await Promise.race([stopped.then(() => 'stopped'), new Promise((r) => setTimeout(() => r('still stopping after 1 s'), 1000))]);
    expect(outcome).toBe('stopped');
    expect(reconciled.sort()).toEqual(['a', 'b']);

    controller.start();
    await eventually(() => expect(gates).toHaveLength(1));
    gates.splice(0)[0]!();
    await eventually(() => expect(reconciled).toContain('c'));
    await controller.stop();
  });

  it('never reconciles one key concurrently', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    let calls = 0;
    const controller = new Controller({
      name: 'serial',
      logger,
      metrics: new ControllerMetrics(new Registry()),
      workers: 4,
      reconcile: async () => {
        calls++;
        maxInFlight = Math.max(maxInFlight, ++inFlight);
        await new Promise((r) => setTimeout(r, 5));
        inFlight--;
      },
    });
    controller.start();
    for (let i = 0; i < 20; i++) {
      controller.enqueue('same');
      await new Promise((r) => setTimeout(r, 1));
    }
    await eventually(() => expect(inFlight).toBe(0));
    await controller.stop();
    expect(maxInFlight).toBe(1);
    expect(calls).toBeGreaterThan(1);
    expect(calls).toBeLessThan(20);
  });

  it('lets timers run during a long burst of reconciles that never wait on I/O', async () => {
    const keys = 2_000;
    let reconciled = 0;
    const controller = new Controller({
      name: 'busy',
      logger,
      metrics: new ControllerMetrics(new Registry()),
      // ~50 µs of CPU each and no I/O: a resync of keys whose objects need no write.
      reconcile: async () => {
        for (const until = performance.now() + 0.05; performance.now() < until;);
        reconciled++;
      },
    });
    for (let i = 0; i < keys; i++) controller.enqueue(`k${i}`);
    const reconciledWhenTimerRan = new Promise<number>((resolve) => setTimeout(() => resolve(reconciled), 0));
    controller.start();
    expect(await reconciledWhenTimerRan).toBeLessThan(keys);
    await eventually(() => expect(reconciled).toBe(keys));
    await controller.stop();
  });
});
