// Continuous verification: every session made through an identity provider is refreshed
// upstream once per interval (by the leader's loop, and before a token when the last check
// is older than that, on whichever replica serves it). What the provider says then is
// what Infra believes: new groups reach User.status.groups, and a person the provider no
// longer accepts (disabled, removed: invalid_grant, or userinfo refused) loses every
// session and access key at once. An unreachable provider changes nothing but the clock.
// Access keys made from an IdP session are verified through that session (see
// credentials/store.ts), so a key is checked upstream like the session it came from.
// Expired sessions are never refreshed: they are garbage, not people.
import { setTimeout as sleep } from 'node:timers/promises';
import { errorMessage } from '../../lib/errors.ts';
import { StatusError } from '../../lib/status-error.ts';
import type { Credential, UpstreamRecord } from '../credentials/store.ts';
import { authenticationFailed } from '../http/status.ts';
import { openSession, sealSession, type IdentityDeps } from './deps.ts';
import { UpstreamError } from './errors.ts';
import { withProviderGroups } from './users.ts';

export type Verification = { outcome: 'verified' } | { outcome: 'revoked'; reason: string } | { outcome: 'unavailable'; reason: string };

/** How long one replica may hold a session's verification lock. */
const lockMs = 30_000;
const lockPollMs = 200;
const loopConcurrency = 4;

export class Verifier {
  private readonly deps: IdentityDeps;
  /** How often the loop looks for due sessions. */
  readonly tickMs: number;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(deps: IdentityDeps) {
    this.deps = deps;
    this.tickMs = Math.min(60_000, Math.max(1_000, Math.floor(deps.verifyIntervalMs / 5)));
  }

  /**
   * Before a token: re-verifies the caller's IdP session if its last check is older than
   * the interval. A session the provider refused ends (401); while the provider is
   * unreachable, tokens are issued until the outage grace is used up (503 after).
   */
  async ensureFresh(credential: Credential | undefined): Promise<void> {
    if (!credential?.provider || !credential.verifiedAt || !credential.upstreamSession) return;
    const age = this.deps.now().getTime() - credential.verifiedAt.getTime();
    if (age < this.deps.verifyIntervalMs) return;
    const result = await this.verifySession(credential.upstreamSession, this.deps.verifyIntervalMs);
    if (result.outcome === 'verified') return;
    if (result.outcome === 'revoked') throw authenticationFailed();
    if (age < this.deps.verifyIntervalMs + this.deps.outageGraceMs) {
      this.deps.logger.warn(
        { user: credential.email, provider: credential.provider, reason: result.reason },
        'identity provider unavailable: issuing on the last verification',
      );
      return;
    }
    throw new StatusError(
      503,
      'ServiceUnavailable',
      `cannot confirm your account with identity provider ${credential.provider}: ${result.reason}; try again later`,
    );
  }

  /** Starts the leader's loop over every due IdP session. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.running ??= this.verifyDue().finally(() => (this.running = undefined));
    }, this.tickMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One pass: sessions that would be due before the next pass are verified now. */
  async verifyDue(): Promise<void> {
    const threshold = this.deps.verifyIntervalMs - this.tickMs;
    const now = this.deps.now().getTime();
    const due = this.deps.credentials.upstreamSessions(this.deps.now()).filter((s) => now - s.verifiedAt.getTime() >= threshold);
    const workers = Array.from({ length: Math.min(loopConcurrency, due.length) }, async () => {
      for (let next = due.shift(); next; next = due.shift()) {
        const result = await this.verifySession(next.id, threshold).catch((err: unknown): Verification => ({
          outcome: 'unavailable',
          reason: errorMessage(err),
        }));
        if (result.outcome === 'unavailable')
          this.deps.logger.warn({ session: next.id, provider: next.provider, reason: result.reason }, 'could not verify a session upstream');
      }
    });
    await Promise.all(workers);
  }

  /**
   * Verifies one session upstream unless another replica has just done so (checked within
   * `freshForMs`). Holds the session's lock meanwhile: a refresh token must be used once.
   */
  async verifySession(id: string, freshForMs: number): Promise<Verification> {
    const { credentials } = this.deps;
    const deadline = Date.now() + lockMs;
    let record: UpstreamRecord | undefined;
    for (;;) {
      record = await credentials.upstream(id);
      if (!record) return { outcome: 'revoked', reason: 'the session is gone' };
      const now = this.deps.now();
      if (record.expiresAt.getTime() <= now.getTime()) return { outcome: 'revoked', reason: 'the session expired' };
      if (now.getTime() - record.verifiedAt.getTime() < freshForMs) return { outcome: 'verified' };
      const held = record.verifyingUntil !== undefined && record.verifyingUntil.getTime() > now.getTime();
      if (!held && (await credentials.claimVerification(record, new Date(now.getTime() + lockMs)))) break;
      if (Date.now() > deadline) return { outcome: 'unavailable', reason: 'another replica is still verifying this session' };
      await sleep(lockPollMs);
    }
    return this.refresh(record);
  }

  private async refresh(record: UpstreamRecord): Promise<Verification> {
    const { deps } = this;
    const provider = deps.hub.providers.get(record.provider);
    if (!provider) return this.revokeSession(record, `provider ${record.provider} was deleted`);
    let session;
    try {
      session = await openSession(deps, record.sealed, record.secretName);
    } catch (err) {
      return this.revokeSession(record, `the stored upstream session cannot be read (${errorMessage(err)}); was the session encryption key replaced?`);
    }
    try {
      const identity = await deps.clients.refresh(provider, record.email, session);
      const now = deps.now();
      await deps.credentials.finishVerification(record, { verifiedAt: now, sealed: await sealSession(deps, identity.session, record.secretName) });
      await this.recordVerified(record, identity.groups, now).catch((err: unknown) => {
        deps.logger.warn({ user: record.email, err: errorMessage(err) }, 'verified upstream, but could not update the User status');
      });
      return { outcome: 'verified' };
    } catch (err) {
      await deps.credentials.finishVerification(record).catch(() => undefined);
      if (err instanceof UpstreamError && err.problem === 'rejected') return this.offboard(record, err.message);
      return { outcome: 'unavailable', reason: errorMessage(err) };
    }
  }

  private async recordVerified(record: UpstreamRecord, groups: string[], now: Date): Promise<void> {
    const user = this.deps.hub.users.get(record.userName);
    if (!user) return;
    const before = user.status?.groups ?? [];
    const after = withProviderGroups(before, record.provider, groups);
    const updated = await this.deps.users.patchStatus(user, { groups: after, lastVerifiedAt: now.toISOString() });
    if (before.join('\n') !== after.join('\n')) {
      const added = after.filter((g) => !before.includes(g));
      const removed = before.filter((g) => !after.includes(g));
      this.deps.audit.info(
        { action: 'user.groups-changed', user: record.email, provider: record.provider, added, removed },
        'groups changed at the identity provider',
      );
      this.deps.events.record(
        updated,
        'Normal',
        'GroupsChanged',
        `${record.provider} reports new groups: added ${added.join(', ') || 'none'}; removed ${removed.join(', ') || 'none'}`,
      );
    }
    await this.deps.users.setVerified(updated, { status: 'True', reason: 'Verified', message: `${record.provider} vouches for the user` });
  }

  /** The provider refused the person: every session and access key of theirs ends. */
  private async offboard(record: UpstreamRecord, reason: string): Promise<Verification> {
    const { deps } = this;
    const revoked = await deps.credentials.revokeAllFor(record.userName);
    deps.audit.info(
      { action: 'user.offboarded', user: record.email, provider: record.provider, reason, revokedCredentials: revoked },
      'identity provider refused the user: credentials revoked',
    );
    const user = deps.hub.users.get(record.userName);
    if (user) {
      const message = `${record.provider} no longer accepts this user (${reason}); ${revoked} session(s) and access key(s) were revoked`;
      deps.events.record(user, 'Warning', 'DisabledUpstream', message);
      await deps.users.setVerified(user, { status: 'False', reason: 'DisabledUpstream', message }).catch((err: unknown) => {
        deps.logger.warn({ user: record.email, err: errorMessage(err) }, 'could not record the Verified condition');
      });
    }
    return { outcome: 'revoked', reason };
  }

  /** Ends one IdP session and the access keys made from it. */
  private async revokeSession(record: UpstreamRecord, reason: string): Promise<Verification> {
    const revoked = await this.deps.credentials.revokeUpstreamSession(record.id);
    this.deps.audit.info(
      { action: 'session.revoked', user: record.email, provider: record.provider, session: record.id, revokedCredentials: revoked, reason },
      'session revoked',
    );
    return { outcome: 'revoked', reason };
  }
}
