// Which upstream session verification refreshes, on fakes of the credential store and
// the provider clients: an expired session is never refreshed, and a credential vouched
// for by another session (an access key, or a session made with one) verifies that one.
import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import type { Credential, CredentialStore, UpstreamRecord } from '../credentials/store.ts';
import type { IdentityDeps } from './deps.ts';
import { Verifier } from './verification.ts';

const now = new Date('2030-06-01T12:00:00Z');
const minute = 60_000;

function verifier(record: UpstreamRecord) {
  const upstream = vi.fn(async (id: string) => (id === record.id ? record : undefined));
  const claimVerification = vi.fn(async () => true);
  const refresh = vi.fn();
  const deps = {
    credentials: { upstream, claimVerification, finishVerification: vi.fn(), revokeUpstreamSession: vi.fn(async () => 1) } as unknown as CredentialStore,
    clients: { refresh },
    hub: { providers: { get: () => undefined }, users: { get: () => undefined } },
    logger: pino({ level: 'silent' }),
    audit: pino({ level: 'silent' }),
    verifyIntervalMs: 5 * minute,
    outageGraceMs: 15 * minute,
    now: () => now,
  } as unknown as IdentityDeps;
  return { verifier: new Verifier(deps), upstream, claimVerification, refresh };
}

const record = (expiresAt: Date): UpstreamRecord => ({
  id: 'anchor',
  secretName: 'infra-session-anchor',
  email: 'carl@example.com',
  userName: 'carl',
  provider: 'okta',
  sealed: Buffer.from('sealed'),
  verifiedAt: new Date(now.getTime() - 10 * minute),
  expiresAt,
  resourceVersion: '1',
});

describe('upstream verification', () => {
  it('never refreshes an expired session', async () => {
    const { verifier: v, claimVerification, refresh } = verifier(record(new Date(now.getTime() - 1)));
    expect(await v.verifySession('anchor', 5 * minute)).toEqual({ outcome: 'revoked', reason: 'the session expired' });
    expect(claimVerification).not.toHaveBeenCalled();
    expect(refresh).not.toHaveBeenCalled();
  });

  it('verifies an access key through the IdP session that vouches for it', async () => {
    const { verifier: v, upstream } = verifier(record(new Date(now.getTime() + 60 * minute)));
    const accessKey: Credential = {
      kind: 'access-key',
      id: 'key',
      email: 'carl@example.com',
      userName: 'carl',
      expiresAt: new Date(now.getTime() + 60 * minute),
      provider: 'okta',
      upstreamSession: 'anchor',
      verifiedAt: new Date(now.getTime() - 10 * minute),
    };
    // The Provider is gone in this fake hub: the anchor is revoked, and the key's token refused.
    await expect(v.ensureFresh(accessKey)).rejects.toMatchObject({ code: 401 });
    expect(upstream).toHaveBeenCalledWith('anchor');
  });
});
