// A token bucket per client address for the public door's work that anyone can ask for
// without a credential: Logins, DeviceAuthorizations and bearer keys the door does not
// know (each Login writes a Secret; each unknown key is a guess). A source that floods
// them waits, answered 429, while every other source keeps being served.

export interface RateLimitSettings {
  /** Tokens a source regains per second. */
  perSecond: number;
  /** Tokens a source starts with and can save up: how many requests it may send at once. */
  burst: number;
}

interface Bucket {
  tokens: number;
  at: number;
  /** The source was refused since its bucket last had a token: log that once, not per request. */
  refused: boolean;
}

export interface Spent {
  /** Seconds until the source may send again; 0 when this request may go ahead. */
  retryAfterSeconds: number;
  /** This request is the first refused since the source last had a token. */
  firstRefusal: boolean;
}

export class SourceRateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly settings: RateLimitSettings;
  private readonly now: () => number;
  /** Sources remembered at most. */
  private readonly maxSources: number;

  constructor(settings: RateLimitSettings, now: () => number = Date.now, maxSources = 10_000) {
    this.settings = settings;
    this.now = now;
    this.maxSources = maxSources;
  }

  /**
   * Spends one of the source's tokens when it has one to spare; with cost 0 only asks
   * whether it has, so a source that is held back stays held back whatever it sends.
   */
  take(address: string, cost: 0 | 1 = 1): Spent {
    const key = sourceKey(address);
    // Asking about a source never limited is the hot path (every bearer request): no write.
    if (cost === 0 && !this.buckets.has(key)) return { retryAfterSeconds: 0, firstRefusal: false };
    const bucket = this.level(key);
    let spent: Spent;
    if (bucket.tokens >= 1) {
      bucket.tokens -= cost;
      bucket.refused = false;
      spent = { retryAfterSeconds: 0, firstRefusal: false };
    } else {
      spent = { retryAfterSeconds: this.wait(bucket.tokens), firstRefusal: !bucket.refused };
      bucket.refused = true;
    }
    this.buckets.set(key, bucket);
    if (this.buckets.size > this.maxSources) this.forget();
    return spent;
  }

  /** How many sources are remembered (for tests of the bound). */
  get size(): number {
    return this.buckets.size;
  }

  private level(key: string): Bucket {
    const now = this.now();
    const bucket = this.buckets.get(key);
    if (!bucket) return { tokens: this.settings.burst, at: now, refused: false };
    const tokens = Math.min(this.settings.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.settings.perSecond);
    return { tokens, at: now, refused: bucket.refused };
  }

  private wait(tokens: number): number {
    return tokens >= 1 ? 0 : Math.ceil((1 - tokens) / this.settings.perSecond);
  }

  /**
   * Forgets the sources with the most tokens left (a full bucket is as good as none) down
   * to nine tenths of the bound, so a flood of new addresses cannot make the door forget
   * the source it is holding back, and the sort runs once per many new sources.
   */
  private forget(): void {
    const byTokens = [...this.buckets.keys()].map((key) => ({ key, tokens: this.level(key).tokens })).sort((a, b) => b.tokens - a.tokens);
    const keep = Math.floor(this.maxSources * 0.9);
    for (const { key } of byTokens.slice(0, byTokens.length - keep)) this.buckets.delete(key);
  }
}

/**
 * Whose bucket an address spends: an IPv4 address itself (also when IPv4-mapped), an IPv6
 * address's /64, since one host is commonly given a whole /64 and could otherwise pick a
 * fresh address per request.
 */
export function sourceKey(address: string): string {
  const withoutZone = address.replace(/%.*$/, '');
  const mapped = /^::ffff:(\d{1,3}(\.\d{1,3}){3})$/i.exec(withoutZone);
  if (mapped) return mapped[1]!;
  if (!withoutZone.includes(':')) return withoutZone;
  const [head = '', tail] = withoutZone.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? left : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}
