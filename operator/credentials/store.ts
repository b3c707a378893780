// The credential store: sessions and access keys. A key is `<prefix>_<id>.<secret>`; the
// hub keeps only the SHA-256 of the secret, in a Secret named after the id in the
// operator's namespace, labelled with the kind of credential and the User it belongs to,
// so deleting a User (or a label selector) revokes its credentials. A key is refused once
// expired, idle too long (sessions) or revoked, and with its User gone.
//
// How an IdP user's access key is re-verified upstream: the key records the IdP session
// it was made from (its "upstream session", a label), and carries that session's
// Provider. A refresh token cannot be shared between two Secrets (providers that rotate
// them treat a second use as theft), so the key borrows the session's: whenever the
// session is verified, so is the key, and when the provider refuses the person, or the
// Provider is deleted, the session and every key made from it are revoked. Logging out
// of such a session only retires it (its key hash is dropped, its upstream part kept)
// while keys depend on it; a key's expiry is capped at the session's, so the retired
// session is garbage-collected no later than its last key. Sessions made by logging in
// with a key follow the same chain: session → key → upstream session.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig, type V1Secret } from '@kubernetes/client-node';
import type { User } from '../../api/v1alpha1/types.ts';
import { errorMessage } from '../../lib/errors.ts';
import { statusCode } from '../../lib/kube.ts';
import type { Logger } from '../../lib/log.ts';
import { StatusError } from '../../lib/status-error.ts';
import { credentialLabel, userLabel, type Hub } from '../hub.ts';

export type CredentialKind = 'session' | 'access-key';

const prefixes: Record<CredentialKind, string> = { session: 'iss', 'access-key': 'iak' };
const annotations = {
  email: 'infrahq.com/email',
  /** When it was made, to the millisecond: the per-user session cap evicts the oldest. */
  createdAt: 'infrahq.com/created-at',
  /** The full User and Provider names, whose labels may hold only their hash (labelValue). */
  userName: 'infrahq.com/user-name',
  providerName: 'infrahq.com/provider-name',
  /** An IdP session logged out of while access keys depend on it: it no longer authenticates. */
  retiredAt: 'infrahq.com/retired-at',
  expiresAt: 'infrahq.com/expires-at',
  lastUsedAt: 'infrahq.com/last-used-at',
  name: 'infrahq.com/name',
  /** IdP sessions: when the provider last confirmed the person. */
  verifiedAt: 'infrahq.com/verified-at',
  /** IdP sessions: a replica is refreshing the upstream session until then (a lock). */
  verifyingUntil: 'infrahq.com/verifying-until',
  /** IdP sessions: how the person logged in (ProviderLoginMethod). */
  loginMethod: 'infrahq.com/login-method',
} as const;
/** On a session made by logging in with an access key: that key's id. */
const accessKeyLabel = 'infrahq.com/access-key';
/** On a session made by logging in through an identity provider, and on keys made from one: the Provider's name (labelValue). */
export const providerLabel = 'infrahq.com/provider';
/** On an access key made from an IdP session: that session's id, whose upstream verification vouches for the key. */
const upstreamSessionLabel = 'infrahq.com/upstream-session';
/** Data key of the sealed upstream session (refresh token) in an IdP session's Secret. */
const upstreamKey = 'upstream';
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const keyPattern = /^(iss|iak)_([a-z2-7]{16})\.([A-Za-z0-9_-]{43})$/;
/** lastUsedAt is written at most this often per credential, to keep requests off the write path. */
const touchIntervalMs = 60_000;

const base32 = (bytes: Buffer) => {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  let bits = '';
  for (const b of bytes) bits += b.toString(2).padStart(8, '0');
  return bits
    .match(/.{5}/g)!
    .map((chunk) => alphabet[parseInt(chunk, 2)])
    .join('');
};
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const secretName = (kind: CredentialKind, id: string) => `infra-${kind}-${id}`;
const idOf = (secret: V1Secret) => secret.metadata!.name!.replace(/^infra-(session|access-key)-/, '');

const labelValuePattern = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
/**
 * A User or Provider name as a label value: itself when it is a valid one (so existing
 * Secrets and `kubectl -l infrahq.com/user=alice` keep working), else `sha256-<hash>`,
 * because names may be 253 characters and label values only 63. The full name is kept
 * in an annotation; lookups compare the label with this function's answer.
 */
export function labelValue(name: string): string {
  return name.length <= 63 && labelValuePattern.test(name) ? name : `sha256-${sha256(name).slice(0, 56)}`;
}
const userNameOf = (secret: V1Secret) => secret.metadata?.annotations?.[annotations.userName] ?? secret.metadata?.labels?.[userLabel] ?? '';
const providerOf = (secret: V1Secret) => {
  if (secret.metadata?.labels?.[providerLabel] === undefined) return undefined;
  return secret.metadata.annotations?.[annotations.providerName] ?? secret.metadata.labels[providerLabel];
};
const expiryOf = (secret: V1Secret) => Date.parse(secret.metadata?.annotations?.[annotations.expiresAt] ?? '') || 0;
const isRetired = (secret: V1Secret) => secret.metadata?.annotations?.[annotations.retiredAt] !== undefined;
const createdAtOf = (secret: V1Secret) =>
  Date.parse(secret.metadata?.annotations?.[annotations.createdAt] ?? '') || Date.parse(String(secret.metadata?.creationTimestamp ?? '')) || 0;

export function parseKey(key: string): { kind: CredentialKind; id: string; secret: string } | undefined {
  const match = keyPattern.exec(key);
  if (!match) return undefined;
  const kind = match[1] === prefixes.session ? 'session' : 'access-key';
  return { kind, id: match[2]!, secret: match[3]! };
}

/** How an IdP session was made: the device flow's sessions may not create access keys. */
export type ProviderLoginMethod = 'code' | 'device';

export interface Credential {
  kind: CredentialKind;
  id: string;
  email: string;
  userName: string;
  expiresAt: Date;
  /**
   * Credentials an identity provider vouches for (its sessions, keys made from them, and
   * sessions made with those keys): the provider, the IdP session whose upstream
   * verification counts, and when it last confirmed the person.
   */
  provider?: string;
  upstreamSession?: string;
  verifiedAt?: Date;
  /** A session made by logging in with an access key: that key's id. */
  accessKeyId?: string;
  loginMethod?: ProviderLoginMethod;
}

/** An IdP session's upstream part, read fresh from the hub. */
export interface UpstreamRecord {
  id: string;
  /** The Secret's name: what the sealed value is bound to. */
  secretName: string;
  email: string;
  userName: string;
  provider: string;
  sealed: Buffer;
  verifiedAt: Date;
  verifyingUntil?: Date;
  expiresAt: Date;
  resourceVersion: string;
}

export interface CreateOptions {
  lifetimeMs?: number;
  name?: string;
  accessKeyId?: string;
  /** An IdP session: the provider, and its upstream part sealed for the Secret's name. */
  upstream?: { provider: string; seal: (secretName: string) => Promise<Buffer> };
  /** An access key vouched for by an IdP session (see the top of this file): that session. */
  upstreamSession?: { id: string; provider: string };
  loginMethod?: ProviderLoginMethod;
  now?: Date;
}

export interface AccessKeyInfo {
  id: string;
  name: string;
  expiresAt: string;
  lastUsedAt: string;
}

export interface CredentialPolicy {
  sessionLifetimeMs: number;
  sessionInactivityTimeoutMs: number;
  /** Live sessions per user; a new one evicts the oldest beyond this. */
  maxSessionsPerUser: number;
  /** Access keys per user; a new one is refused at this many. */
  maxAccessKeysPerUser: number;
  /** The longest an access key may live. */
  accessKeyMaxLifetimeMs: number;
}

export class CredentialStore {
  private readonly core: CoreV1Api;
  private readonly namespace: string;
  private readonly hub: Hub;
  readonly policy: CredentialPolicy;
  private readonly logger: Logger;
  private readonly audit: Logger;
  private collector: NodeJS.Timeout | undefined;

  constructor(kubeConfig: KubeConfig, namespace: string, hub: Hub, policy: CredentialPolicy, logger: Logger) {
    this.core = kubeConfig.makeApiClient(CoreV1Api);
    this.namespace = namespace;
    this.hub = hub;
    this.policy = policy;
    this.logger = logger;
    this.audit = logger.child({ audit: true });
  }

  /**
   * Creates a credential for the user and returns its key; only its hash is stored. An
   * access key is refused at the per-user cap; a session beyond it evicts the oldest.
   */
  async create(kind: CredentialKind, user: User, options: CreateOptions = {}): Promise<{ key: string; credential: Credential }> {
    const now = options.now ?? new Date();
    const userName = user.metadata.name!;
    if (kind === 'access-key') await this.refuseAtKeyCap(user);
    const id = base32(randomBytes(10));
    const secret = randomBytes(32).toString('base64url');
    const expiresAt = new Date(now.getTime() + (options.lifetimeMs ?? this.policy.sessionLifetimeMs));
    const name = secretName(kind, id);
    const upstream = options.upstream;
    const provider = upstream?.provider ?? options.upstreamSession?.provider;
    const body: V1Secret = {
      metadata: {
        name,
        namespace: this.namespace,
        labels: {
          [credentialLabel]: kind,
          [userLabel]: labelValue(userName),
          'app.kubernetes.io/managed-by': 'infra-operator',
          ...(options.accessKeyId ? { [accessKeyLabel]: options.accessKeyId } : {}),
          ...(provider ? { [providerLabel]: labelValue(provider) } : {}),
          ...(options.upstreamSession ? { [upstreamSessionLabel]: options.upstreamSession.id } : {}),
        },
        annotations: {
          [annotations.email]: user.spec.email,
          [annotations.userName]: userName,
          [annotations.createdAt]: now.toISOString(),
          [annotations.expiresAt]: expiresAt.toISOString(),
          [annotations.lastUsedAt]: now.toISOString(),
          ...(options.name ? { [annotations.name]: options.name } : {}),
          ...(provider ? { [annotations.providerName]: provider } : {}),
          ...(upstream ? { [annotations.verifiedAt]: now.toISOString() } : {}),
          ...(options.loginMethod ? { [annotations.loginMethod]: options.loginMethod } : {}),
        },
      },
      type: 'Opaque',
      data: {
        sha256: Buffer.from(sha256(secret)).toString('base64'),
        ...(upstream ? { [upstreamKey]: (await upstream.seal(name)).toString('base64') } : {}),
      },
    };
    await this.core.createNamespacedSecret({ namespace: this.namespace, body });
    if (kind === 'session') await this.evictBeyondSessionCap(user, name);
    return {
      key: `${prefixes[kind]}_${id}.${secret}`,
      credential: {
        kind,
        id,
        email: user.spec.email,
        userName,
        expiresAt,
        ...(upstream ? { provider: upstream.provider, upstreamSession: id, verifiedAt: now } : {}),
        ...(options.accessKeyId ? { accessKeyId: options.accessKeyId } : {}),
        ...(options.loginMethod ? { loginMethod: options.loginMethod } : {}),
      },
    };
  }

  /** The user's credentials of a kind, read from the hub (a labelled list): caps must not trust a lagging cache. */
  private async listOwned(userName: string, kind: CredentialKind): Promise<V1Secret[]> {
    const labelSelector = `${credentialLabel}=${kind},${userLabel}=${labelValue(userName)}`;
    const list = await this.core.listNamespacedSecret({ namespace: this.namespace, labelSelector });
    return list.items;
  }

  private async refuseAtKeyCap(user: User): Promise<void> {
    const keys = (await this.listOwned(user.metadata.name!, 'access-key')).length;
    if (keys < this.policy.maxAccessKeysPerUser) return;
    throw new StatusError(
      403,
      'Forbidden',
      `${user.spec.email} already has ${keys} access keys, the most allowed (accessKeys.maxPerUser); revoke unused ones first (\`infra keys list\`, \`infra keys remove NAME\`)`,
    );
  }

  /**
   * Deletes the user's oldest live sessions beyond the cap, never the one just made, nor
   * one that vouches for access keys (those are bounded by the key cap, and evicting one
   * would end its keys).
   */
  private async evictBeyondSessionCap(user: User, keep: string): Promise<void> {
    const anchors = new Set(this.hub.credentials.list().flatMap((s) => s.metadata?.labels?.[upstreamSessionLabel] ?? []));
    const live = (await this.listOwned(user.metadata.name!, 'session')).filter((s) => !isRetired(s) && !anchors.has(idOf(s)));
    const excess = live.length - this.policy.maxSessionsPerUser;
    if (excess <= 0) return;
    const oldest = live
      .filter((s) => s.metadata!.name !== keep)
      .sort((a, b) => createdAtOf(a) - createdAtOf(b) || a.metadata!.name!.localeCompare(b.metadata!.name!))
      .slice(0, excess);
    await Promise.all(oldest.map((s) => this.deleteSecret(s.metadata!.name!)));
    this.audit.info(
      { action: 'session.evicted', user: user.spec.email, sessions: oldest.map(idOf), max: this.policy.maxSessionsPerUser },
      'session cap reached: oldest sessions revoked',
    );
  }

  /**
   * The credential a key stands for, or undefined when it is malformed, unknown, expired,
   * idle too long, or its User is gone. Callers answer every such case the same way.
   */
  async authenticate(key: string, now = new Date()): Promise<Credential | undefined> {
    const parsed = parseKey(key);
    if (!parsed) return undefined;
    const secret = await this.lookup(secretName(parsed.kind, parsed.id));
    if (!secret?.data?.['sha256'] || secret.metadata?.labels?.[credentialLabel] !== parsed.kind) return undefined;
    const expected = Buffer.from(secret.data['sha256'], 'base64');
    const actual = Buffer.from(sha256(parsed.secret));
    if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) return undefined;

    const meta = secret.metadata.annotations ?? {};
    const expiresAt = new Date(meta[annotations.expiresAt] ?? 0);
    if (!(expiresAt.getTime() > now.getTime())) return undefined;
    const lastUsedAt = Date.parse(meta[annotations.lastUsedAt] ?? '') || 0;
    if (parsed.kind === 'session' && now.getTime() - lastUsedAt > this.policy.sessionInactivityTimeoutMs) return undefined;
    const viaKey = secret.metadata.labels?.[accessKeyLabel];
    const madeWith = viaKey === undefined ? secret : await this.live(secretName('access-key', viaKey), now);
    if (!madeWith) return undefined;
    const email = meta[annotations.email] ?? '';
    const user = this.hub.userByEmail(email);
    if (!user || user.metadata.name !== userNameOf(secret)) return undefined;
    const upstream = await this.upstreamOf(secret, madeWith, now);
    if (upstream === 'gone') return undefined;

    if (now.getTime() - lastUsedAt > touchIntervalMs) this.touch(secret.metadata.name!, now);
    const loginMethod = meta[annotations.loginMethod];
    return {
      kind: parsed.kind,
      id: parsed.id,
      email,
      userName: user.metadata.name,
      expiresAt,
      ...upstream,
      ...(viaKey !== undefined ? { accessKeyId: viaKey } : {}),
      ...(loginMethod === 'code' || loginMethod === 'device' ? { loginMethod } : {}),
    };
  }

  /**
   * Which IdP session vouches for a credential (itself, or the one its access key was made
   * from), and when it was last verified; 'gone' when that session no longer exists.
   */
  private async upstreamOf(secret: V1Secret, key: V1Secret, now: Date): Promise<Pick<Credential, 'provider' | 'upstreamSession' | 'verifiedAt'> | 'gone'> {
    const anchorId = key.metadata?.labels?.[upstreamSessionLabel];
    const anchor = anchorId === undefined ? secret : await this.live(secretName('session', anchorId), now);
    if (!anchor) return 'gone';
    const provider = providerOf(anchor);
    if (provider === undefined) return {};
    return {
      provider,
      upstreamSession: idOf(anchor),
      verifiedAt: new Date(Date.parse(anchor.metadata?.annotations?.[annotations.verifiedAt] ?? '') || 0),
    };
  }

  /** The credential Secret of this name, if it exists (cache, else one GET) and has not expired. */
  private async live(name: string, now: Date): Promise<V1Secret | undefined> {
    const secret = await this.lookup(name);
    return secret && expiryOf(secret) > now.getTime() ? secret : undefined;
  }

  /**
   * Ends a credential (logout). An IdP session that access keys depend on is retired
   * instead: it stops authenticating, but keeps verifying those keys upstream.
   */
  async revoke(credential: Pick<Credential, 'kind' | 'id'>): Promise<void> {
    const name = secretName(credential.kind, credential.id);
    if (credential.kind === 'session') {
      const dependents = await this.core.listNamespacedSecret({ namespace: this.namespace, labelSelector: `${upstreamSessionLabel}=${credential.id}` });
      if (dependents.items.length > 0) {
        const body = { metadata: { annotations: { [annotations.retiredAt]: new Date().toISOString() } }, data: { sha256: null } };
        try {
          await this.core.patchNamespacedSecret({ name, namespace: this.namespace, body }, mergePatch);
        } catch (err) {
          if (statusCode(err) !== 404) throw err;
        }
        return;
      }
    }
    await this.deleteSecret(name);
  }

  /** Deletes an IdP session and the access keys it vouches for (the provider refused it, or is gone). */
  async revokeUpstreamSession(id: string): Promise<number> {
    const keys = this.hub.credentials.list().filter((s) => s.metadata?.labels?.[upstreamSessionLabel] === id);
    await Promise.all([secretName('session', id), ...keys.map((s) => s.metadata!.name!)].map((n) => this.deleteSecret(n)));
    return 1 + keys.length;
  }

  /** Revokes a User's sessions (not their access keys), but the one with this id; how many. */
  async revokeSessionsOf(userName: string, exceptId?: string): Promise<number> {
    const sessions = this.hub.credentials
      .list()
      .filter(
        (s) => userNameOf(s) === userName && s.metadata?.labels?.[credentialLabel] === 'session' && s.metadata.name !== secretName('session', exceptId ?? ''),
      );
    await Promise.all(sessions.map((s) => this.deleteSecret(s.metadata!.name!)));
    return sessions.length;
  }

  /** Revokes every credential made through a provider (it was deleted): sessions, and keys made from them; how many. */
  async revokeProviderSessions(provider: string): Promise<number> {
    const owned = this.hub.credentials.list().filter((s) => providerOf(s) === provider);
    await Promise.all(owned.map((s) => this.deleteSecret(s.metadata!.name!)));
    return owned.length;
  }

  /** Providers that still have credentials: the Provider controller revokes those of deleted providers. */
  sessionProviders(): Set<string> {
    return new Set(this.hub.credentials.list().flatMap((s) => providerOf(s) ?? []));
  }

  /** Unexpired IdP sessions (retired ones too: they vouch for keys) from the cache, with when each was last verified. */
  upstreamSessions(now = new Date()): { id: string; provider: string; verifiedAt: Date }[] {
    return this.hub.credentials.list().flatMap((s) => {
      const provider = providerOf(s);
      if (!provider || s.metadata?.labels?.[credentialLabel] !== 'session' || expiryOf(s) <= now.getTime()) return [];
      return [{ id: idOf(s), provider, verifiedAt: new Date(Date.parse(s.metadata.annotations?.[annotations.verifiedAt] ?? '') || 0) }];
    });
  }

  /** The user's live IdP session verified most recently: what vouches for a key made for them by someone else. */
  newestUpstreamSessionOf(userName: string, now = new Date()): { id: string; provider: string; expiresAt: Date } | undefined {
    const newest = this.hub.credentials
      .list()
      .filter((s) => userNameOf(s) === userName && s.metadata?.labels?.[credentialLabel] === 'session' && providerOf(s) && expiryOf(s) > now.getTime())
      .sort((a, b) => expiryOf(b) - expiryOf(a))[0];
    return newest && { id: idOf(newest), provider: providerOf(newest)!, expiresAt: new Date(expiryOf(newest)) };
  }

  /** An IdP session's upstream part, read from the hub (not the cache); undefined when the session is gone. */
  async upstream(id: string): Promise<UpstreamRecord | undefined> {
    const name = secretName('session', id);
    let secret: V1Secret;
    try {
      secret = await this.core.readNamespacedSecret({ name, namespace: this.namespace });
    } catch (err) {
      if (statusCode(err) === 404) return undefined;
      throw err;
    }
    const provider = providerOf(secret);
    const sealed = secret.data?.[upstreamKey];
    if (!provider || !sealed) return undefined;
    const meta = secret.metadata!.annotations ?? {};
    const verifyingUntil = Date.parse(meta[annotations.verifyingUntil] ?? '');
    return {
      id,
      secretName: name,
      email: meta[annotations.email] ?? '',
      userName: userNameOf(secret),
      provider,
      sealed: Buffer.from(sealed, 'base64'),
      verifiedAt: new Date(Date.parse(meta[annotations.verifiedAt] ?? '') || 0),
      ...(Number.isNaN(verifyingUntil) ? {} : { verifyingUntil: new Date(verifyingUntil) }),
      expiresAt: new Date(expiryOf(secret)),
      resourceVersion: secret.metadata!.resourceVersion!,
    };
  }

  /**
   * Takes the verification lock on an IdP session until `until`, if the Secret is still at
   * `resourceVersion`: only one replica may use a refresh token at a time, because
   * providers that rotate refresh tokens treat a second use as theft.
   */
  async claimVerification(record: UpstreamRecord, until: Date): Promise<boolean> {
    try {
      await this.core.patchNamespacedSecret(
        {
          name: record.secretName,
          namespace: this.namespace,
          body: { metadata: { resourceVersion: record.resourceVersion, annotations: { [annotations.verifyingUntil]: until.toISOString() } } },
        },
        mergePatch,
      );
      return true;
    } catch (err) {
      if (statusCode(err) === 409 || statusCode(err) === 404) return false;
      throw err;
    }
  }

  /** Ends the lock; after a successful check, records when and the (possibly rotated) sealed upstream session. */
  async finishVerification(record: UpstreamRecord, result?: { verifiedAt: Date; sealed: Buffer }): Promise<void> {
    const body = {
      metadata: { annotations: { [annotations.verifyingUntil]: null, ...(result ? { [annotations.verifiedAt]: result.verifiedAt.toISOString() } : {}) } },
      ...(result ? { data: { [upstreamKey]: result.sealed.toString('base64') } } : {}),
    };
    try {
      await this.core.patchNamespacedSecret({ name: record.secretName, namespace: this.namespace, body }, mergePatch);
    } catch (err) {
      if (statusCode(err) !== 404) throw err;
    }
  }

  /** Revokes every session and access key of a User (on deletion, offboarding, or on demand). */
  async revokeAllFor(userName: string): Promise<number> {
    const owned = this.hub.credentials.list().filter((s) => userNameOf(s) === userName);
    await Promise.all(owned.map((s) => this.deleteSecret(s.metadata!.name!)));
    return owned.length;
  }

  /** A user's access keys, from the cache: names and dates, never hashes. */
  accessKeysOf(userName: string): AccessKeyInfo[] {
    return this.hub.credentials
      .list()
      .filter((s) => s.metadata?.labels?.[credentialLabel] === 'access-key' && userNameOf(s) === userName)
      .map((s) => {
        const meta = s.metadata!.annotations ?? {};
        return {
          id: idOf(s),
          name: meta[annotations.name] ?? '',
          expiresAt: meta[annotations.expiresAt] ?? '',
          lastUsedAt: meta[annotations.lastUsedAt] ?? '',
        };
      })
      .sort((a, b) => a.name.localeCompare(b.name) || a.expiresAt.localeCompare(b.expiresAt));
  }

  /** Revokes a user's access keys with this name (names need not be unique), and the sessions made with them; how many keys. */
  async revokeAccessKeys(userName: string, name: string): Promise<number> {
    const ids = new Set(
      this.accessKeysOf(userName)
        .filter((k) => k.name === name)
        .map((k) => k.id),
    );
    const sessions = this.hub.credentials.list().filter((s) => ids.has(s.metadata?.labels?.[accessKeyLabel] ?? ''));
    await Promise.all([...[...ids].map((id) => secretName('access-key', id)), ...sessions.map((s) => s.metadata!.name!)].map((n) => this.deleteSecret(n)));
    return ids.size;
  }

  /** Users that still have credentials: the User controller revokes those of deleted users. */
  credentialOwners(): Set<string> {
    return new Set(this.hub.credentials.list().map(userNameOf));
  }

  /**
   * Deletes credentials that can never authenticate again: expired ones, sessions idle past
   * the timeout (unless they vouch for keys), and those whose access key or upstream
   * session is gone; how many. From the cache: a missed one waits for the next pass.
   */
  async collectGarbage(now = new Date()): Promise<number> {
    const all = this.hub.credentials.list();
    const names = new Set(all.map((s) => s.metadata!.name!));
    const anchors = new Set(all.flatMap((s) => s.metadata?.labels?.[upstreamSessionLabel] ?? []));
    const dead = all.filter((s) => {
      const labels = s.metadata?.labels ?? {};
      if (expiryOf(s) <= now.getTime()) return true;
      if (labels[accessKeyLabel] !== undefined && !names.has(secretName('access-key', labels[accessKeyLabel]))) return true;
      if (labels[upstreamSessionLabel] !== undefined && !names.has(secretName('session', labels[upstreamSessionLabel]))) return true;
      if (labels[credentialLabel] !== 'session' || anchors.has(idOf(s))) return false;
      if (isRetired(s)) return true;
      const lastUsedAt = Date.parse(s.metadata?.annotations?.[annotations.lastUsedAt] ?? '') || 0;
      return now.getTime() - lastUsedAt > this.policy.sessionInactivityTimeoutMs;
    });
    await Promise.all(dead.map((s) => this.deleteSecret(s.metadata!.name!)));
    if (dead.length > 0) this.logger.info({ deleted: dead.length }, 'collected expired credentials');
    return dead.length;
  }

  /** The leader's garbage collection, every intervalMs. */
  startCollecting(intervalMs: number): void {
    if (this.collector) return;
    this.collector = setInterval(() => {
      this.collectGarbage().catch((err: unknown) => this.logger.warn({ err: errorMessage(err) }, 'collecting expired credentials failed'));
    }, intervalMs);
    this.collector.unref();
  }

  stopCollecting(): void {
    clearInterval(this.collector);
    this.collector = undefined;
  }

  private async lookup(name: string): Promise<V1Secret | undefined> {
    const cached = this.hub.credentials.get(name, this.namespace);
    if (cached) return cached;
    // A credential created a moment ago (by this or another replica) may not have reached
    // the cache yet: one GET by name, never a list.
    try {
      return await this.core.readNamespacedSecret({ name, namespace: this.namespace });
    } catch (err) {
      if (statusCode(err) === 404) return undefined;
      throw err;
    }
  }

  private touch(name: string, now: Date): void {
    this.core
      .patchNamespacedSecret({
        name,
        namespace: this.namespace,
        body: [{ op: 'add', path: `/metadata/annotations/${annotations.lastUsedAt.replace('/', '~1')}`, value: now.toISOString() }],
      })
      .catch((err: unknown) => this.logger.warn({ secret: name, err: errorMessage(err) }, 'could not record credential use'));
  }

  private async deleteSecret(name: string): Promise<void> {
    try {
      await this.core.deleteNamespacedSecret({ name, namespace: this.namespace });
    } catch (err) {
      if (statusCode(err) !== 404) throw err;
    }
  }
}
