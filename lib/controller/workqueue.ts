// A keyed, de-duplicating work queue in the style of client-go's: a key is processed by
// at most one worker at a time; adding a key that is already waiting is a no-op; a key
// added while it is being processed is processed once more after done(). Failed keys
// come back with per-key exponential backoff until forget().

export interface BackoffOptions {
  /** Delay after the first failure. */
  baseMs: number;
  /** Upper bound on the delay. */
  maxMs: number;
}

export const defaultBackoff: BackoffOptions = { baseMs: 50, maxMs: 5 * 60_000 };

export class WorkQueue<K = string> {
  private readonly queue: K[] = [];
  private readonly dirty = new Set<K>();
  private readonly processing = new Set<K>();
  private readonly failures = new Map<K, number>();
  private readonly timers = new Map<K, { timer: NodeJS.Timeout; due: number }>();
  private readonly waiters: ((key: K | undefined) => void)[] = [];
  private readonly idleWaiters: (() => void)[] = [];
  private paused = false;
  private readonly backoff: BackoffOptions;

  constructor(backoff: BackoffOptions = defaultBackoff) {
    this.backoff = backoff;
  }

  /** Number of keys waiting to be processed (not counting ones in flight). */
  get length(): number {
    return this.queue.length;
  }

  add(key: K): void {
    if (this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return; // re-queued by done()
    const waiter = this.waiters.shift();
    if (waiter) {
      this.dirty.delete(key);
      this.processing.add(key);
      waiter(key);
    } else {
      this.queue.push(key);
    }
  }

  /** Adds the key after a delay; a later call with a shorter delay wins. */
  addAfter(key: K, delayMs: number): void {
    if (delayMs <= 0) return this.add(key);
    const existing = this.timers.get(key);
    const due = Date.now() + delayMs;
    if (existing && existing.due <= due) return;
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, delayMs);
    timer.unref();
    this.timers.set(key, { timer, due });
  }

  /** Adds the key after its backoff delay, which doubles with each consecutive failure. */
  addRateLimited(key: K): number {
    const failures = this.failures.get(key) ?? 0;
    this.failures.set(key, failures + 1);
    const delay = Math.min(this.backoff.maxMs, this.backoff.baseMs * 2 ** failures);
    this.addAfter(key, delay);
    return delay;
  }

  /** Clears the key's failure count, after it was processed successfully. */
  forget(key: K): void {
    this.failures.delete(key);
  }

  failureCount(key: K): number {
    return this.failures.get(key) ?? 0;
  }

  /** Waits for the next key; undefined while the queue is paused. */
  get(): Promise<K | undefined> {
    if (this.paused) return Promise.resolve(undefined);
    const key = this.queue.shift();
    if (key !== undefined) {
      this.dirty.delete(key);
      this.processing.add(key);
      return Promise.resolve(key);
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Marks the key processed; if it was added meanwhile, it is queued again. */
  done(key: K): void {
    this.processing.delete(key);
    if (this.dirty.has(key)) {
      this.dirty.delete(key);
      this.add(key);
    }
    if (this.idle) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  /** No key waiting or in flight (keys waiting out a delay or a backoff do not count). */
  get idle(): boolean {
    return this.queue.length === 0 && this.processing.size === 0;
  }

  /** Resolves the next time the queue is idle: at once if it is. */
  whenIdle(): Promise<void> {
    if (this.idle) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Until resume(), get() answers undefined and hands out no key: workers waiting now and
   * workers that finish a key later all stop. Keys stay queued and can still be added.
   */
  pause(): void {
    this.paused = true;
    for (const waiter of this.waiters.splice(0)) waiter(undefined);
  }

  resume(): void {
    this.paused = false;
  }
}
