// The operator's public signing keys, as the connector's proxy sees them: fetched from
// `<issuer>/openid/v1/jwks`, refreshed on a timer and when a token names a key we do not
// have yet (a rotation), and kept when the hub cannot be reached.
//
// Stale-if-error, on purpose and without a time limit: a token is only accepted with a
// valid signature and an unexpired `exp`, so an old key can never stretch a token's life;
// dropping the keys during a hub outage would only lock out every user whose token is
// still good (the original Infra failed closed five minutes into an outage). A key the
// hub has removed is forgotten at the first successful refresh.
//
// Fetched with undici, as the connector's other calls to the hub are (lib/rest.ts), not
// with node:https: the proxy forwards every request with node:https, and V8 optimizes that
// client code for the proxy's own requests. A request of another shape through it, once a
// minute, threw about thirty of those functions back to unoptimized code each time, and
// the proxy's CPU per request rose until they were compiled again (bench/README.md).
import { createLocalJWKSet, type JSONWebKeySet, type JWK, type JWTVerifyGetKey } from 'jose';
import { Counter, Gauge, type Registry } from 'prom-client';
import { Agent, request, type Dispatcher } from 'undici';
import type { Logger } from '../../lib/log.ts';
import { keyResolver, type KeySet, type LocalKeySet } from './key-set.ts';

export const defaultRefreshIntervalMs = 60_000;
/** At most one refetch in this interval for tokens whose `kid` we do not know. */
export const defaultUnknownKidRefetchIntervalMs = 10_000;
const defaultFetchTimeoutMs = 5_000;
const maxDocumentBytes = 1 << 20;

export interface JwksCacheOptions {
  /** The operator's public URL; the key set is read from `<issuer>/openid/v1/jwks`. */
  issuer: string;
  /** Overrides the key set URL (must be https). */
  jwksUrl?: string;
  /** PEM bundle that signed the operator's serving certificate; the system CAs when absent. */
  ca?: string | Buffer;
  refreshIntervalMs?: number;
  unknownKidRefetchIntervalMs?: number;
  fetchTimeoutMs?: number;
  logger?: Logger;
  registry?: Registry;
}

/** Told the keys held, and their version, whenever they change. */
export type KeysListener = (jwks: JSONWebKeySet, version: number) => void;

export class JwksCache implements KeySet {
  readonly url: string;
  readonly #options: JwksCacheOptions;
  readonly #refreshIntervalMs: number;
  readonly #unknownKidRefetchIntervalMs: number;
  #keys: LocalKeySet | undefined;
  #document: JSONWebKeySet | undefined;
  readonly #listeners = new Set<KeysListener>();
  #kids: string[] = [];
  #version = 0;
  #lastSuccess: Date | undefined;
  #lastAttemptMs = Number.NEGATIVE_INFINITY;
  #inFlight: Promise<boolean> | undefined;
  #timer: NodeJS.Timeout | undefined;
  /** Connections to the operator, verified against its CA. */
  readonly #dispatcher: Dispatcher;
  readonly #refreshes: Counter<'result'> | undefined;
  readonly #lastSuccessGauge: Gauge | undefined;

  constructor(options: JwksCacheOptions) {
    this.#options = options;
    this.url = options.jwksUrl ?? `${options.issuer.replace(/\/+$/, '')}/openid/v1/jwks`;
    if (new URL(this.url).protocol !== 'https:') throw new Error(`the JWKS URL must be https: ${this.url}`);
    const timeoutMs = options.fetchTimeoutMs ?? defaultFetchTimeoutMs;
    this.#dispatcher = new Agent({
      connect: { ...(options.ca ? { ca: options.ca } : {}), timeout: timeoutMs },
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    this.#refreshIntervalMs = options.refreshIntervalMs ?? defaultRefreshIntervalMs;
    this.#unknownKidRefetchIntervalMs = options.unknownKidRefetchIntervalMs ?? defaultUnknownKidRefetchIntervalMs;
    if (options.registry) {
      this.#refreshes = new Counter({
        name: 'infra_connector_jwks_refresh_total',
        help: "Fetches of the operator's JWKS by result (success, error).",
        labelNames: ['result'],
        registers: [options.registry],
      });
      this.#lastSuccessGauge = new Gauge({
        name: 'infra_connector_jwks_last_success_timestamp_seconds',
        help: "When the operator's JWKS was last fetched successfully; keys older than a few refresh intervals mean the hub is unreachable.",
        registers: [options.registry],
      });
    }
  }

  /** True once a key set has been fetched (it may be stale since). */
  get ready(): boolean {
    return this.#keys !== undefined;
  }

  /** Goes up whenever the keys held change (the first fetch included); what was verified against another version may not verify now. */
  get version(): number {
    return this.#version;
  }

  /** The keys held now, as fetched (public members of ES256 keys only), and their version. */
  get current(): { jwks: JSONWebKeySet; version: number } | undefined {
    return this.#document && { jwks: this.#document, version: this.#version };
  }

  /** Calls `listener` whenever the keys held change from now on; returns the call that stops it. */
  onChange(listener: KeysListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The kids of the keys held now. */
  get kids(): readonly string[] {
    return this.#kids;
  }

  get lastSuccess(): Date | undefined {
    return this.#lastSuccess;
  }

  /** Fetches once (never throws: a failure is logged and the cache stays as it was), then refreshes on a timer. */
  async start(): Promise<void> {
    if (this.#timer) return;
    this.#timer = setInterval(() => void this.refresh(), this.#refreshIntervalMs);
    this.#timer.unref();
    await this.refresh();
  }

  /** Stops refreshing, for good: the connections to the operator are closed. */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    void this.#dispatcher.close();
  }

  /**
   * Fetches the key set now, or joins the fetch under way. Resolves true when a fresh key
   * set was stored, false when the fetch failed (the previous keys are kept).
   */
  refresh(): Promise<boolean> {
    this.#inFlight ??= this.#fetch().finally(() => (this.#inFlight = undefined));
    return this.#inFlight;
  }

  /** A jose key resolver: `jwtVerify(token, cache.getKey, …)`. A token naming a key not held refetches, rate-limited. */
  readonly getKey: JWTVerifyGetKey = keyResolver(
    () => this.#keys,
    () => this.refetchForUnknownKey(),
  );

  /** Joins the fetch under way, or fetches unless one was tried in the last unknownKidRefetchIntervalMs; true when fresh keys were stored. */
  async refetchForUnknownKey(): Promise<boolean> {
    if (this.#inFlight) return this.#inFlight;
    if (Date.now() - this.#lastAttemptMs < this.#unknownKidRefetchIntervalMs) return false;
    return this.refresh();
  }

  async #fetch(): Promise<boolean> {
    this.#lastAttemptMs = Date.now();
    try {
      const jwks = publicVerificationKeys(await getJson(this.url, this.#dispatcher));
      if (jwks.keys.length === 0) throw new Error('the key set has no ES256 keys');
      const kids = jwks.keys.map((key) => key.kid ?? '');
      const changed = kids.join(',') !== this.#kids.join(',');
      this.#keys = createLocalJWKSet(jwks);
      this.#document = jwks;
      this.#kids = kids;
      if (changed) this.#version++;
      this.#lastSuccess = new Date();
      this.#refreshes?.inc({ result: 'success' });
      this.#lastSuccessGauge?.set(this.#lastSuccess.getTime() / 1000);
      if (changed) {
        this.#options.logger?.info({ url: this.url, kids }, 'loaded signing keys');
        for (const listener of this.#listeners) listener(jwks, this.#version);
      }
      return true;
    } catch (error) {
      this.#refreshes?.inc({ result: 'error' });
      this.#options.logger?.warn(
        { url: this.url, err: (error as Error).message, keptKeys: this.#kids.length, lastSuccess: this.#lastSuccess?.toISOString() },
        this.#keys ? 'could not refresh signing keys; still verifying with the last ones fetched' : 'could not load signing keys',
      );
      return false;
    }
  }
}

/** Keeps only EC P-256 public keys usable for ES256 signatures, and only their public members. */
export function publicVerificationKeys(document: unknown): JSONWebKeySet {
  const keys = (document as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) throw new Error('not a JWKS document: no "keys" array');
  const usable: JWK[] = [];
  for (const key of keys as JWK[]) {
    if (typeof key !== 'object' || key === null) continue;
    if (key.kty !== 'EC' || key.crv !== 'P-256' || typeof key.x !== 'string' || typeof key.y !== 'string') continue;
    if (key.alg !== undefined && key.alg !== 'ES256') continue;
    if (key.use !== undefined && key.use !== 'sig') continue;
    usable.push({ kty: 'EC', crv: 'P-256', x: key.x, y: key.y, alg: 'ES256', use: 'sig', ...(typeof key.kid === 'string' ? { kid: key.kid } : {}) });
  }
  return { keys: usable };
}

/** GET over https (the dispatcher's CA and timeouts), with a size limit and no redirects. */
async function getJson(url: string, dispatcher: Dispatcher): Promise<unknown> {
  const { statusCode, body } = await request(url, { method: 'GET', headers: { accept: 'application/json' }, dispatcher });
  if (statusCode !== 200) {
    await body.dump();
    throw new Error(`GET ${url}: HTTP ${statusCode}`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxDocumentBytes) {
      body.destroy();
      throw new Error(`GET ${url}: the key set is larger than ${maxDocumentBytes} bytes`);
    }
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new Error(`GET ${url}: not JSON`);
  }
}
