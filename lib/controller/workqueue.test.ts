import { describe, expect, it, vi } from 'vitest';
import { WorkQueue } from './workqueue.ts';

describe('WorkQueue', () => {
  it('hands out keys in order and de-duplicates keys still waiting', async () => {
    const queue = new WorkQueue();
    queue.add('a');
    queue.add('b');
    queue.add('a');
    expect(queue.length).toBe(2);
    expect(await queue.get()).toBe('a');
    expect(await queue.get()).toBe('b');
  });

  it('never gives one key to two workers; a key added while processing comes back once after done()', async () => {
    const queue = new WorkQueue();
    queue.add('a');
    const key = await queue.get();
    queue.add('a');
    queue.add('a');
    expect(queue.length).toBe(0);
    queue.done(key!);
    expect(queue.length).toBe(1);
    expect(await queue.get()).toBe('a');
    queue.done('a');
    expect(queue.length).toBe(0);
  });

  it('wakes a waiting worker when a key arrives', async () => {
    const queue = new WorkQueue();
    const next = queue.get();
    queue.add('x');
    expect(await next).toBe('x');
  });

  it('backs off exponentially per key up to the maximum, and forget() resets it', () => {
    vi.useFakeTimers();
    try {
      const queue = new WorkQueue({ baseMs: 10, maxMs: 50 });
      expect([1, 2, 3, 4].map(() => queue.addRateLimited('k'))).toEqual([10, 20, 40, 50]);
      expect(queue.failureCount('k')).toBe(4);
      expect(queue.length).toBe(0);
      vi.advanceTimersByTime(10);
      expect(queue.length).toBe(1);
      queue.forget('k');
      expect(queue.addRateLimited('k')).toBe(10);
    } finally {
      vi.useRealTimers();
    }
  });

  it('keeps the earliest of several delayed adds', () => {
    vi.useFakeTimers();
    try {
      const queue = new WorkQueue();
      queue.addAfter('k', 1000);
      queue.addAfter('k', 100);
      queue.addAfter('k', 5000);
      vi.advanceTimersByTime(100);
      expect(queue.length).toBe(1);
    } finally {
      vi.useRealTimers();
    }
  });

  it('while paused hands out no key, to waiting workers or later ones; resume() hands them out again', async () => {
    const queue = new WorkQueue();
    const waiting = queue.get();
    queue.pause();
    expect(await waiting).toBeUndefined();
    queue.add('kept');
    expect(await queue.get()).toBeUndefined();
    expect(queue.length).toBe(1);
    queue.resume();
    expect(await queue.get()).toBe('kept');
  });

  it('is idle once nothing is queued or in flight, including a key re-added while processed', async () => {
    const queue = new WorkQueue();
    await queue.whenIdle(); // an empty queue is idle at once
    queue.add('a');
    queue.add('b');
    let idle = false;
    void queue.whenIdle().then(() => (idle = true));
    const a = await queue.get();
    queue.add('a'); // again, while in flight
    queue.done(a!);
    await Promise.resolve();
    expect(idle).toBe(false);
    queue.done((await queue.get())!); // b
    queue.done((await queue.get())!); // a, the second time
    await Promise.resolve();
    expect(idle).toBe(true);
    expect(queue.idle).toBe(true);
  });
});
