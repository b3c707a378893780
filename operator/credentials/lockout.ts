// Password guessing limits: failed password checks are counted per email and per client
// address; past the limit the key is locked for a while and every attempt, right or
// wrong, is refused without checking. The counts live in this replica's memory (see
// docs/identity-providers.md): with N replicas a guesser gets at most N times the limit.

export interface LockoutPolicy {
  /** Failures per email before it is locked. */
  maxFailures: number;
  /** Failures per client address before it is locked (higher: many people may share a NAT). */
  maxFailuresPerAddress: number;
  /** How long a lock lasts; failures older than this are forgotten too. */
  lockoutMs: number;
}

interface Entry {
  failures: number[];
  lockedUntil?: number;
  /** Attempts being checked right now: they count toward the limit until they settle. */
  pending?: number;
}

export interface Lock {
  key: 'email' | 'address';
  until: Date;
}

/** How soon to retry when the limit is taken up by attempts still being checked. */
const pendingRetryMs = 5_000;
/** Keeps memory bounded under a spray of distinct emails or addresses. */
const maxEntries = 100_000;

export class LoginThrottle {
  private readonly policy: LockoutPolicy;
  private readonly entries = new Map<string, Entry>();

  constructor(policy: LockoutPolicy) {
    this.policy = policy;
  }

  /** The lock in force for this email or address, if any. */
  locked(email: string, address: string | undefined, now = Date.now()): Lock | undefined {
    for (const [key, id] of this.keys(email, address)) {
      const until = this.entries.get(id)?.lockedUntil;
      if (until !== undefined && until > now) return { key, until: new Date(until) };
    }
    return undefined;
  }

  /**
   * Reserves one attempt before its (slow) check: refused with the lock in force, or when
   * the failures so far plus the attempts still being checked reach a limit. Every
   * reservation is released once its check is done (then fail or succeed records it).
   */
  reserve(email: string, address: string | undefined, now = Date.now()): Lock | undefined {
    const lock = this.locked(email, address, now);
    if (lock) return lock;
    const keys = [...this.keys(email, address)];
    for (const [key, id] of keys) {
      const entry = this.entries.get(id);
      const limit = key === 'email' ? this.policy.maxFailures : this.policy.maxFailuresPerAddress;
      const recent = entry?.failures.filter((t) => now - t < this.policy.lockoutMs).length ?? 0;
      // Busy, not locked: the answer comes within a check's time.
      if (recent + (entry?.pending ?? 0) >= limit) return { key, until: new Date(now + pendingRetryMs) };
    }
    for (const [, id] of keys) {
      const entry = this.entries.get(id) ?? { failures: [] };
      entry.pending = (entry.pending ?? 0) + 1;
      this.entries.set(id, entry);
    }
    return undefined;
  }

  /** Ends a reservation (its check is done). */
  release(email: string, address: string | undefined): void {
    for (const [, id] of this.keys(email, address)) {
      const entry = this.entries.get(id);
      if (entry?.pending) entry.pending -= 1;
    }
  }

  /** Records a failed check; returns the lock it started, if this failure crossed a limit. */
  fail(email: string, address: string | undefined, now = Date.now()): Lock | undefined {
    let started: Lock | undefined;
    for (const [key, id] of this.keys(email, address)) {
      const entry = this.entries.get(id) ?? { failures: [] };
      entry.failures = entry.failures.filter((t) => now - t < this.policy.lockoutMs);
      entry.failures.push(now);
      const limit = key === 'email' ? this.policy.maxFailures : this.policy.maxFailuresPerAddress;
      if (entry.failures.length >= limit && !(entry.lockedUntil !== undefined && entry.lockedUntil > now)) {
        entry.lockedUntil = now + this.policy.lockoutMs;
        entry.failures = [];
        started ??= { key, until: new Date(entry.lockedUntil) };
      }
      this.entries.delete(id); // re-insert: the map's order is least recently failed first
      this.entries.set(id, entry);
    }
    this.prune();
    return started;
  }

  /** A right password clears the email's failures (not the address's: one good account must not hide guessing at others). */
  succeed(email: string): void {
    this.entries.delete(emailKey(email));
  }

  private *keys(email: string, address: string | undefined): Generator<['email' | 'address', string]> {
    yield ['email', emailKey(email)];
    if (address) yield ['address', `address:${address}`];
  }

  /** Forgets the least recently failed keys beyond maxEntries. */
  private prune(): void {
    for (const id of this.entries.keys()) {
      if (this.entries.size <= maxEntries) break;
      this.entries.delete(id);
    }
  }
}

const emailKey = (email: string) => `email:${email.trim().toLowerCase()}`;
