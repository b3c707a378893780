// The operator's signing keys, kept in one hub Secret (<namespace>/infra-signing-keys,
// data key keys.json) that every replica reads. Writes are read-modify-write with the
// Secret's resourceVersion, so replicas racing to create or rotate the keys end with one
// key set. Each replica serves the keys from memory and re-reads them every few seconds.
// Key material is never logged: log lines name keys by kid only. Each change this replica
// writes (a first key set, a rotation) has an audit line naming the kids added and retired.
//
// Deleting the Secret revokes every key: the next rotation check writes a new key set,
// and tokens signed by the old keys stop verifying once replicas have refreshed.
import { CoreV1Api, type KubeConfig, type V1Secret } from '@kubernetes/client-node';
import type { JSONWebKeySet } from 'jose';
import type { AuditLog } from '../../lib/audit.ts';
import { errorMessage } from '../../lib/errors.ts';
import { statusCode } from '../../lib/kube.ts';
import type { Logger } from '../../lib/log.ts';
import { parseKeySet, rotate, serializeKeySet, type KeySet } from './keyset.ts';
import { type SigningKey, publicJwks, generateSigningKey, currentKey } from '../../api/tokens.ts';

export const signingKeysSecret = 'infra-signing-keys';
export const keySetDataKey = 'keys.json';
export const managedByLabel = { 'app.kubernetes.io/managed-by': 'infra-operator' } as const;

export interface SigningKeyPolicy {
  /** How long a key signs tokens before it is replaced. */
  rotationIntervalMs: number;
  /** The longest token lifetime the operator issues: a retired key stays this long (plus clockSkewMs). */
  maxTokenLifetimeMs: number;
  /** Default 1 minute; should exceed the refresh interval, since a replica may sign with a just-retired key until it refreshes. */
  clockSkewMs?: number;
}

export interface StartOptions {
  /** How often to re-read (and, with rotate, rotate) the keys; default 5 s. */
  intervalMs?: number;
  /** Whether this replica applies the rotation schedule on each tick (default true; safe on every replica). */
  rotate?: boolean | (() => boolean);
}

/** What a write did to the key set, by kid. */
interface KeyChange {
  current: string | undefined;
  added: string[];
  retired: string[];
  dropped: string[];
}

export class SigningKeyStore {
  private readonly core: CoreV1Api;
  private readonly namespace: string;
  private readonly policy: SigningKeyPolicy;
  private readonly logger: Logger;
  private readonly auditTrail: AuditLog;
  private cached: KeySet | undefined;
  private cachedJwks: JSONWebKeySet = { keys: [] };
  private resourceVersion: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private ticking = false;

  constructor(kubeConfig: KubeConfig, namespace: string, policy: SigningKeyPolicy, logger: Logger, auditTrail: AuditLog) {
    this.core = kubeConfig.makeApiClient(CoreV1Api);
    this.namespace = namespace;
    this.policy = policy;
    this.auditTrail = auditTrail;
    this.logger = logger.child({ secret: `${namespace}/${signingKeysSecret}` });
  }

  /**
   * Loads the key set, creating the Secret with a first key when there is none (replicas
   * may race: the loser reads the winner's keys), and rotates it if rotation is due.
   */
  async ensure(now: Date = new Date()): Promise<KeySet> {
    const secret = await this.readOrCreate(now);
    await this.rotateFrom(secret, now);
    return this.keys();
  }

  /** Reads the Secret into memory and returns the key set; throws if it is missing or malformed. */
  async load(): Promise<KeySet> {
    const secret = await this.read();
    if (!secret) throw new Error(`Secret ${this.namespace}/${signingKeysSecret} not found`);
    this.adopt(secret);
    return this.keys();
  }

  /** Like load(), but keeps serving the last known keys when the read fails. Returns whether it succeeded. */
  async refresh(): Promise<boolean> {
    try {
      await this.load();
      return true;
    } catch (err) {
      this.logger.warn({ err: errorMessage(err) }, 'reading the signing keys failed; serving the last known keys');
      return false;
    }
  }

  /**
   * Applies the rotation schedule at `now` in the Secret: read, rotate, replace with the
   * resourceVersion read; on a conflict, re-read and try once more. Recreates the Secret
   * if it was deleted. Returns whether the stored key set changed.
   */
  async rotateIfDue(now: Date = new Date()): Promise<boolean> {
    const secret = await this.readOrCreate(now);
    return this.rotateFrom(secret, now);
  }

  /** Refreshes (and rotates) the keys periodically until stop(). */
  start(options: StartOptions = {}): void {
    const intervalMs = options.intervalMs ?? 5_000;
    const rotateOption = options.rotate ?? true;
    const shouldRotate = typeof rotateOption === 'function' ? rotateOption : () => rotateOption;
    this.stop();
    this.timer = setInterval(() => void this.tick(shouldRotate()), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  get loaded(): boolean {
    return this.cached !== undefined;
  }

  /** The key set as last read. */
  keys(): KeySet {
    if (!this.cached) throw new Error('signing keys not loaded: call ensure() or load() first');
    return this.cached;
  }

  /** The key that signs tokens now. */
  signer(): SigningKey {
    const key = currentKey(this.keys());
    if (!key) throw new Error('no current signing key');
    return key;
  }

  /** The public JWKS (current and retired keys), for /openid/v1/jwks and verifiers. */
  verifyKeys(): JSONWebKeySet {
    return this.cachedJwks;
  }

  private async tick(rotateToo: boolean): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      if (rotateToo) await this.rotateIfDue();
      else await this.load();
    } catch (err) {
      this.logger.warn({ err: errorMessage(err) }, 'refreshing the signing keys failed; serving the last known keys');
    } finally {
      this.ticking = false;
    }
  }

  private async read(): Promise<V1Secret | undefined> {
    try {
      return await this.core.readNamespacedSecret({ name: signingKeysSecret, namespace: this.namespace });
    } catch (err) {
      if (statusCode(err) === 404) return undefined;
      throw err;
    }
  }

  private async readOrCreate(now: Date): Promise<V1Secret> {
    const existing = await this.read();
    if (existing) return existing;
    const keys = [await generateSigningKey(now)];
    try {
      const created = await this.core.createNamespacedSecret({
        namespace: this.namespace,
        body: {
          metadata: { name: signingKeysSecret, namespace: this.namespace, labels: { ...managedByLabel } },
          type: 'Opaque',
          data: { [keySetDataKey]: encode(keys) },
        },
      });
      this.logger.info({ kid: keys[0]!.kid }, 'created the signing keys');
      this.recordChange('create', 201, { current: keys[0]!.kid, added: [keys[0]!.kid], retired: [], dropped: [] });
      return created;
    } catch (err) {
      if (statusCode(err) !== 409) throw err;
      // Another replica created it first: use its keys.
      const winner = await this.read();
      if (!winner) throw new Error(`Secret ${this.namespace}/${signingKeysSecret} was created and deleted concurrently`, { cause: err });
      return winner;
    }
  }

  private async rotateFrom(secret: V1Secret, now: Date, retried = false): Promise<boolean> {
    const before = this.adopt(secret);
    const { keys, changed } = await rotate(before, { now, ...this.policy });
    if (!changed) return false;
    const body: V1Secret = {
      ...secret,
      metadata: { ...secret.metadata, labels: { ...secret.metadata?.labels, ...managedByLabel } },
      data: { ...secret.data, [keySetDataKey]: encode(keys) },
    };
    let replaced: V1Secret;
    try {
      // metadata.resourceVersion is the one read: the API server refuses the write if the Secret changed since.
      replaced = await this.core.replaceNamespacedSecret({ name: signingKeysSecret, namespace: this.namespace, body });
    } catch (err) {
      if (statusCode(err) === 409 && !retried) {
        this.logger.info('signing keys changed while rotating; re-reading');
        return this.rotateFrom(await this.readOrCreate(now), now, true);
      }
      throw err;
    }
    this.adopt(replaced);
    const beforeKids = new Set(before.map((key) => key.kid));
    const afterKids = new Set(keys.map((key) => key.kid));
    const change: KeyChange = {
      current: currentKey(keys)?.kid,
      added: keys.filter((key) => !beforeKids.has(key.kid)).map((key) => key.kid),
      retired: keys
        .filter((key) => key.retiredAt !== undefined && before.some((old) => old.kid === key.kid && old.retiredAt === undefined))
        .map((key) => key.kid),
      dropped: before.filter((key) => !afterKids.has(key.kid)).map((key) => key.kid),
    };
    this.logger.info(change, 'rotated the signing keys');
    this.recordChange('update', 200, change);
    return true;
  }

  /** The audit line of a key set this replica wrote: kids only, which the JWKS publishes anyway. */
  private recordChange(verb: 'create' | 'update', code: number, change: KeyChange): void {
    const kids = (list: string[]) => list.join(',');
    this.auditTrail.record({
      requestURI: `/api/v1/namespaces/${this.namespace}/secrets${verb === 'create' ? '' : `/${signingKeysSecret}`}`,
      verb,
      user: {},
      objectRef: { resource: 'secrets', namespace: this.namespace, name: signingKeysSecret, apiVersion: 'v1' },
      code,
      annotations: {
        'infrahq.com/signing-key-current': change.current ?? '',
        'infrahq.com/signing-keys-added': kids(change.added),
        'infrahq.com/signing-keys-retired': kids(change.retired),
        'infrahq.com/signing-keys-dropped': kids(change.dropped),
      },
    });
  }

  /** Takes a Secret read from (or written to) the API server as the key set in memory. */
  private adopt(secret: V1Secret): SigningKey[] {
    const data = secret.data?.[keySetDataKey];
    if (data === undefined) throw new Error(`Secret ${this.namespace}/${signingKeysSecret} has no ${keySetDataKey}; delete it to generate new keys`);
    let keys: SigningKey[];
    try {
      keys = parseKeySet(Buffer.from(data, 'base64').toString('utf8'));
    } catch (err) {
      throw new Error(`Secret ${this.namespace}/${signingKeysSecret}: ${errorMessage(err)}; delete it to generate new keys`, { cause: err });
    }
    const version = secret.metadata?.resourceVersion;
    if (this.cached === undefined || version !== this.resourceVersion) {
      const previous = currentKey(this.cached ?? [])?.kid;
      const current = currentKey(keys)?.kid;
      if (previous !== current) this.logger.info({ current, keys: keys.map((key) => key.kid) }, 'loaded the signing keys');
      this.cached = Object.freeze(keys);
      this.cachedJwks = publicJwks(keys);
      this.resourceVersion = version;
    }
    return keys;
  }
}

function encode(keys: KeySet): string {
  return Buffer.from(serializeKeySet(keys)).toString('base64');
}
