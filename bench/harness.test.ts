import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { proxyThreadName } from '../connector/proxy/thread.ts';
import { spawn, type ChildProcess } from 'node:child_process';
import {
  boundedLoad,
  idlenessNote,
  pacedLoad,
  processCpuMs,
  processThreadsCpuMs,
  programsQuiet,
  waitForIdle,
  waitSettled,
  type QuietGroup,
} from './harness.ts';

describe('pacedLoad', () => {
  it('starts each call when it is due, however slow the calls before it are', async () => {
    const dues: number[] = [];
    const starts: number[] = [];
    const completed = await pacedLoad(200, 20, Infinity, 256, async (due, i) => {
      dues[i] = due;
      starts[i] = performance.now();
      await sleep(50);
    });
    expect(completed).toBe(20);
    for (let i = 1; i < 20; i++) expect(dues[i]! - dues[i - 1]!).toBeCloseTo(5, 6);
    for (let i = 0; i < 20; i++) expect(starts[i]!).toBeGreaterThanOrEqual(dues[i]!);
    // One call at a time would have needed a second; at 200/s the last starts ~95 ms after the first.
    expect(starts[19]! - starts[0]!).toBeLessThan(500);
  });

  it('keeps at most maxInFlight calls running, so a call waiting for a slot starts late and its due time says so', async () => {
    let running = 0;
    let most = 0;
    const lateness: number[] = [];
    await pacedLoad(1000, 12, Infinity, 2, async (due) => {
      lateness.push(performance.now() - due);
      most = Math.max(most, ++running);
      await sleep(20);
      running--;
    });
    expect(most).toBe(2);
    expect(Math.max(...lateness)).toBeGreaterThan(80);
  });

  it('stops at the deadline and rejects with the first failure once the calls in flight settle', async () => {
    let started = 0;
    const done = await pacedLoad(100, 1_000, Date.now() + 100, 256, async () => void started++);
    expect(done).toBe(started);
    expect(started).toBeLessThan(30);

    let settled = 0;
    await expect(
      pacedLoad(1000, 10, Infinity, 256, async (_due, i) => {
        await sleep(i === 0 ? 5 : 30);
        settled++;
        if (i === 0) throw new Error('first');
      }),
    ).rejects.toThrow('first');
    expect(settled).toBeGreaterThan(1);
  });
});

describe('boundedLoad', () => {
  it('keeps `concurrency` calls in flight and counts the completed ones', async () => {
    let running = 0;
    let most = 0;
    const done = await boundedLoad(10, 3, Infinity, async () => {
      most = Math.max(most, ++running);
      await sleep(5);
      running--;
    });
    expect(done).toBe(10);
    expect(most).toBe(3);
  });
});

describe('processCpuMs', () => {
  it("counts a process's CPU time finer than /proc/<pid>/stat's 10 ms units, as much as the process itself counts", async () => {
    const before = await processCpuMs(process.pid);
    const own = process.cpuUsage();
    const until = performance.now() + 30;
    while (performance.now() < until); // 30 ms on the CPU
    const spent = process.cpuUsage(own);
    const counted = (await processCpuMs(process.pid)) - before;
    const ownMs = (spent.user + spent.system) / 1000;
    expect(counted).toBeGreaterThanOrEqual(ownMs * 0.9);
    // Not a multiple of 10 ms: read from the threads' nanosecond run time.
    expect(counted % 10).not.toBe(0);
  });
});

describe('processThreadsCpuMs', () => {
  /** Spins until this thread has run `ms` on the CPU (not the clock: on a busy machine a thread also waits for it). */
  function spin(ms: number): void {
    const start = process.threadCpuUsage();
    while (process.threadCpuUsage(start).user + process.threadCpuUsage(start).system < ms * 1000);
  }

  /** A worker thread that spins `ms` on the CPU and stays alive (an exited thread takes its time with it) until terminated. */
  async function spinningThread(ms: number, name?: string): Promise<Worker> {
    const worker = new Worker(
      `${spin.toString()} spin(${ms}); const { parentPort } = require('node:worker_threads'); parentPort.postMessage('spun'); parentPort.on('message', () => {});`,
      { eval: true, ...(name ? { name } : {}) },
    );
    await once(worker, 'message');
    return worker;
  }

  it("counts the main thread's work as the serving thread's, and another thread's only in the process's", async () => {
    const before = await processThreadsCpuMs(process.pid);
    spin(30);
    const spun = await processThreadsCpuMs(process.pid);
    expect(spun.serving - before.serving).toBeGreaterThanOrEqual(27);

    // 60 ms on a worker thread, while the main thread waits for its message, off the CPU.
    const worker = await spinningThread(60);
    const after = await processThreadsCpuMs(process.pid);
    await worker.terminate();
    const servingMs = after.serving - spun.serving;
    expect(after.all - spun.all - servingMs).toBeGreaterThanOrEqual(54);
    expect(servingMs).toBeLessThan(40);
  });

  it("counts the connector's proxy thread as the serving thread where the process has one", async () => {
    const worker = await spinningThread(60, proxyThreadName);
    try {
      // The named thread's whole run time so far, its 60 ms included.
      const spun = await processThreadsCpuMs(process.pid);
      expect(spun.serving).toBeGreaterThanOrEqual(54);
      // The main thread's work is now another thread's.
      spin(30);
      const after = await processThreadsCpuMs(process.pid);
      expect(after.all - spun.all).toBeGreaterThanOrEqual(27);
      expect(after.serving - spun.serving).toBeLessThan(10);
    } finally {
      await worker.terminate();
    }
  });
});

describe('waitForIdle', () => {
  /** A shell that spins for `spinMs` of wall time, then sleeps; killed after the test. */
  async function shell(spinMs: number): Promise<ChildProcess> {
    const script = `end=$(( $(date +%s%N) + ${spinMs} * 1000000 )); while [ "$(date +%s%N)" -lt "$end" ]; do :; done; exec sleep 30`;
    const child = spawn('sh', ['-c', script], { stdio: 'ignore' });
    await once(child, 'spawn');
    return child;
  }

  it('answers once a busy process has gone idle, not before', async () => {
    const child = await shell(400);
    try {
      const spawned = performance.now();
      const idleness = await waitForIdle([programsQuiet('the shell', [child.pid!])], { timeoutMs: 20_000 });
      expect(idleness.idle).toBe(true);
      expect(performance.now() - spawned).toBeGreaterThanOrEqual(350);
    } finally {
      child.kill();
    }
  });

  it('gives up at its bound on a process that stays busy, and says so', async () => {
    const child = await shell(60_000);
    try {
      const idleness = await waitForIdle([programsQuiet('the shell', [child.pid!])], { timeoutMs: 300 });
      expect(idleness.idle).toBe(false);
      expect(idleness.waitedMs).toBeGreaterThanOrEqual(300);
    } finally {
      child.kill();
    }
  });

  it('holds each group to its own allowance, all in the same window', async () => {
    // A loop of the shell's own builtins: all its CPU is the shell's, none a child's.
    const busy = spawn('sh', ['-c', 'while :; do :; done'], { stdio: 'ignore' });
    await once(busy, 'spawn');
    let sleeping: ChildProcess | undefined;
    try {
      sleeping = await shell(0);
      // More CPU than one thread can use in any window, however late the timer fires.
      const lenient = { whose: 'the spinning shell', pids: [busy.pid!], maxCpuMs: 60_000 } satisfies QuietGroup;
      const idle = programsQuiet('the sleeping shell', [sleeping.pid!]);
      expect((await waitForIdle([lenient, idle], { timeoutMs: 3000 })).idle).toBe(true);
      expect((await waitForIdle([idle, programsQuiet('the spinning shell', [busy.pid!])], { timeoutMs: 300 })).idle).toBe(false);
    } finally {
      busy.kill();
      sleeping?.kill();
    }
  });
});

describe('idlenessNote', () => {
  const groups: QuietGroup[] = [programsQuiet('the operator', [1]), { whose: 'the API servers', pids: [2, 3], maxCpuMs: 5 }];

  it("gives each group's allowance, the waits at p50 and p99, and counts those that reached the bound", () => {
    const waits = [...Array.from({ length: 98 }, () => ({ idle: true, waitedMs: 50 })), ...Array.from({ length: 2 }, () => ({ idle: false, waitedMs: 2000 }))];
    expect(idlenessNote(waits, groups)).toBe(
      'started once the operator had used < 0.5 ms of CPU and the API servers had used < 5 ms of CPU in the same 50 ms: ' +
        'a wait of 50 ms at p50, 2000 ms at p99; 2 of 100 waits reached the 2 s bound with the processes still busy',
    );
  });

  it('says nothing of the bound when no wait reached it', () => {
    expect(idlenessNote([{ idle: true, waitedMs: 57 }], groups)).not.toContain('bound');
  });
});

describe('waitSettled', () => {
  /** A /metrics server that drops the connection of the scrapes `drop(n)` names (n counts from 1), and answers the others. */
  async function metricsServer(drop: (n: number) => boolean): Promise<{ url: string; server: Server }> {
    let scrapes = 0;
    const server = createServer((req, res) => {
      if (drop(++scrapes)) return void req.socket.destroy();
      res.end('# TYPE infra_reconcile_total counter\ninfra_reconcile_total{controller="grant",result="success"} 5\n');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
  }

  it('skips a failed scrape of a live process and says so', async () => {
    const { url, server } = await metricsServer((n) => n === 2);
    const logged: string[] = [];
    try {
      const settled = await waitSettled(url, { minimum: { grant: 5 }, quietMs: 50, pollMs: 5, timeoutMs: 30_000, log: (m) => logged.push(m) });
      expect(settled.settled).toBe(true);
      expect(settled.counts.get('grant')).toBe(5);
      expect(logged).toEqual([expect.stringMatching(/\/metrics failed \(1 of 3 in a row\), polling on: fetch failed: other side closed \(UND_ERR_SOCKET\)$/)]);
    } finally {
      server.close();
    }
  });

  it('gives up on a process whose every scrape fails, with the cause', async () => {
    const { url, server } = await metricsServer(() => true);
    const logged: string[] = [];
    try {
      const settling = waitSettled(url, { minimum: { grant: 5 }, pollMs: 5, timeoutMs: 30_000, log: (m) => logged.push(m) });
      await expect(settling).rejects.toThrow(`${url}/metrics failed 3 times in a row`);
      await expect(settling).rejects.toHaveProperty('cause.message', 'fetch failed');
      expect(logged).toHaveLength(2);
    } finally {
      server.close();
    }
  });
});
