// The credential store: sessions and access keys. A key is `<prefix>_<id>.<secret>`; the
// hub keeps only the SHA-256 of the secret, in a Secret named after the id in the
// operator's namespace, labelled with the kind of credential and the User it belongs to,
// so deleting a User (or a label selector) revokes its credentials. A key is refused once
// expired, idle too long (sessions) or revoked, and with its User gone.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig, type V1Secret } from '@kubernetes/client-node';
import type { User } from '../../api/v1alpha1/types.ts';
import { errorMessage } from '../../lib/errors.ts';
import { statusCode } from '../../lib/kube.ts';
import type { Logger } from '../../lib/log.ts';
import { credentialLabel, userLabel, type Hub } from '../hub.ts';

export type CredentialKind = 'session' | 'access-key';

const prefixes: Record<CredentialKind, string> = { session: 'iss', 'access-key': 'iak' };
const annotations = {
  email: 'infrahq.com/email',
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
/** On a session made by logging in through an identity provider: the Provider's name. */
export const providerLabel = 'infrahq.com/provider';
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
  /** Sessions made through an identity provider: which one, and when it last confirmed the person. */
  provider?: string;
  verifiedAt?: Date;
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
  resourceVersion: string;
}

export interface CreateOptions {
  lifetimeMs?: number;
  name?: string;
  accessKeyId?: string;
  /** An IdP session: the provider, and its upstream part sealed for the Secret's name. */
  upstream?: { provider: string; seal: (secretName: string) => Promise<Buffer> };
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
}

export class CredentialStore {
  private readonly core: CoreV1Api;
  private readonly namespace: string;
  private readonly hub: Hub;
  private readonly policy: CredentialPolicy;
  private readonly logger: Logger;

  constructor(kubeConfig: KubeConfig, namespace: string, hub: Hub, policy: CredentialPolicy, logger: Logger) {
    this.core = kubeConfig.makeApiClient(CoreV1Api);
    this.namespace = namespace;
    this.hub = hub;
    this.policy = policy;
    this.logger = logger;
  }

  /** Creates a credential for the user and returns its key; only its hash is stored. */
  async create(kind: CredentialKind, user: User, options: CreateOptions = {}): Promise<{ key: string; credential: Credential }> {
    const now = options.now ?? new Date();
    const id = base32(randomBytes(10));
    const secret = randomBytes(32).toString('base64url');
    const expiresAt = new Date(now.getTime() + (options.lifetimeMs ?? this.policy.sessionLifetimeMs));
    const name = secretName(kind, id);
    const upstream = options.upstream;
    const body: V1Secret = {
      metadata: {
        name,
        namespace: this.namespace,
        labels: {
          [credentialLabel]: kind,
          [userLabel]: user.metadata.name!,
          'app.kubernetes.io/managed-by': 'infra-operator',
          ...(options.accessKeyId ? { [accessKeyLabel]: options.accessKeyId } : {}),
          ...(upstream ? { [providerLabel]: upstream.provider } : {}),
        },
        annotations: {
          [annotations.email]: user.spec.email,
          [annotations.expiresAt]: expiresAt.toISOString(),
          [annotations.lastUsedAt]: now.toISOString(),
          ...(options.name ? { [annotations.name]: options.name } : {}),
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
    return {
      key: `${prefixes[kind]}_${id}.${secret}`,
      credential: {
        kind,
        id,
        email: user.spec.email,
        userName: user.metadata.name!,
        expiresAt,
        ...(upstream ? { provider: upstream.provider, verifiedAt: now } : {}),
        ...(options.loginMethod ? { loginMethod: options.loginMethod } : {}),
      },
    };
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
    if (viaKey !== undefined && !this.accessKeyValid(viaKey, now)) return undefined;
    const email = meta[annotations.email] ?? '';
    const user = this.hub.userByEmail(email);
    if (!user || user.metadata.name !== secret.metadata.labels?.[userLabel]) return undefined;

    if (now.getTime() - lastUsedAt > touchIntervalMs) this.touch(secret.metadata.name!, now);
    const provider = secret.metadata.labels?.[providerLabel];
    const upstream = provider ? { provider, verifiedAt: new Date(Date.parse(meta[annotations.verifiedAt] ?? '') || 0) } : {};
    const loginMethod = meta[annotations.loginMethod];
    return {
      kind: parsed.kind,
      id: parsed.id,
      email,
      userName: user.metadata.name!,
      expiresAt,
      ...upstream,
      ...(loginMethod === 'code' || loginMethod === 'device' ? { loginMethod } : {}),
    };
  }

  async revoke(credential: Pick<Credential, 'kind' | 'id'>): Promise<void> {
    await this.deleteSecret(secretName(credential.kind, credential.id));
  }

  /** Revokes a User's sessions (not their access keys), but the one with this id; how many. */
  async revokeSessionsOf(userName: string, exceptId?: string): Promise<number> {
    const sessions = this.hub.credentials
      .list()
      .filter(
        (s) =>
          s.metadata?.labels?.[userLabel] === userName &&
          s.metadata.labels[credentialLabel] === 'session' &&
          s.metadata.name !== secretName('session', exceptId ?? ''),
      );
    await Promise.all(sessions.map((s) => this.deleteSecret(s.metadata!.name!)));
    return sessions.length;
  }

  /** Revokes every session made through a provider (it was deleted); how many. */
  async revokeProviderSessions(provider: string): Promise<number> {
    const sessions = this.hub.credentials.list().filter((s) => s.metadata?.labels?.[providerLabel] === provider);
    await Promise.all(sessions.map((s) => this.deleteSecret(s.metadata!.name!)));
    return sessions.length;
  }

  /** Providers that still have sessions: the Provider controller revokes those of deleted providers. */
  sessionProviders(): Set<string> {
    return new Set(this.hub.credentials.list().flatMap((s) => s.metadata?.labels?.[providerLabel] ?? []));
  }

  /** IdP sessions from the cache, with when each was last verified. */
  upstreamSessions(): { id: string; provider: string; verifiedAt: Date }[] {
    return this.hub.credentials.list().flatMap((s) => {
      const provider = s.metadata?.labels?.[providerLabel];
      if (!provider || s.metadata?.labels?.[credentialLabel] !== 'session') return [];
      return [
        {
          id: s.metadata.name!.slice(secretName('session', '').length),
          provider,
          verifiedAt: new Date(Date.parse(s.metadata.annotations?.[annotations.verifiedAt] ?? '') || 0),
        },
      ];
    });
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
    const provider = secret.metadata?.labels?.[providerLabel];
    const sealed = secret.data?.[upstreamKey];
    if (!provider || !sealed) return undefined;
    const meta = secret.metadata!.annotations ?? {};
    const verifyingUntil = Date.parse(meta[annotations.verifyingUntil] ?? '');
    return {
      id,
      secretName: name,
      email: meta[annotations.email] ?? '',
      userName: secret.metadata!.labels?.[userLabel] ?? '',
      provider,
      sealed: Buffer.from(sealed, 'base64'),
      verifiedAt: new Date(Date.parse(meta[annotations.verifiedAt] ?? '') || 0),
      ...(Number.isNaN(verifyingUntil) ? {} : { verifyingUntil: new Date(verifyingUntil) }),
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
    const owned = this.hub.credentials.list().filter((s) => s.metadata?.labels?.[userLabel] === userName);
    await Promise.all(owned.map((s) => this.deleteSecret(s.metadata!.name!)));
    return owned.length;
  }

  /** A user's access keys, from the cache: names and dates, never hashes. */
  accessKeysOf(userName: string): AccessKeyInfo[] {
    return this.hub.credentials
      .list()
      .filter((s) => s.metadata?.labels?.[credentialLabel] === 'access-key' && s.metadata.labels[userLabel] === userName)
      .map((s) => {
        const meta = s.metadata!.annotations ?? {};
        return {
          id: s.metadata!.name!.slice(secretName('access-key', '').length),
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
    return new Set(this.hub.credentials.list().map((s) => s.metadata?.labels?.[userLabel] ?? ''));
  }

  /** Whether the access key a session was made with still exists and has not expired. */
  private accessKeyValid(id: string, now: Date): boolean {
    const key = this.hub.credentials.get(secretName('access-key', id), this.namespace);
    return key !== undefined && Date.parse(key.metadata?.annotations?.[annotations.expiresAt] ?? '') > now.getTime();
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
