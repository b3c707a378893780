// The proxy's admission of a request: from the client's bearer token to the identity the
// request is forwarded as, or the reason it is refused before anything reaches the API
// server.
//
// An Infra token is an ES256 JWT for this destination (api/tokens.ts), verified against
// the operator's keys (jwks.ts). A token verified once is remembered until it expires
// (token-cache.ts): kubectl sends the same one with every request for minutes. No token
// may name a system: user or group, whatever the hub or an identity provider put in it.
import type { IncomingMessage } from 'node:http';
import { errors, type JWTVerifyGetKey } from 'jose';
import type { Counter } from 'prom-client';
import type { Logger } from '../../lib/log.ts';
import { isReservedSubject } from '../../api/grants.ts';
import { verifyToken } from '../../api/tokens.ts';
import { firstHeader, hasImpersonationHeader, pathOf, type Identity } from './headers.ts';
import { KeysUnavailableError, type KeySet } from './key-set.ts';
import { VerifiedTokenCache } from './token-cache.ts';

/** Why a request was refused; a metrics label and a debug log field, never shown to the caller. */
export type FailureReason =
  | 'missing_token'
  | 'malformed'
  | 'algorithm'
  | 'signature'
  | 'unknown_key'
  | 'expired'
  | 'not_yet_valid'
  | 'issuer'
  | 'audience'
  | 'claims'
  | 'reserved_subject'
  | 'keys_unavailable';

/** Why admission refused a request, for the proxy's answer: each has its own Status (server.ts). */
export type Refusal = 'impersonation_header' | 'bad_target' | 'unauthenticated' | 'keys_unavailable';

class AuthenticationError extends Error {
  readonly reason: FailureReason;
  constructor(reason: FailureReason, message: string) {
    super(message);
    this.reason = reason;
  }
}

function bearerToken(req: IncomingMessage): string | undefined {
  const match = /^Bearer[ \t]+([A-Za-z0-9._~+/=-]+)[ \t]*$/i.exec(firstHeader(req.rawHeaders, 'authorization') ?? '');
  return match?.[1];
}

function failureReason(error: unknown): FailureReason {
  if (error instanceof AuthenticationError) return error.reason;
  if (error instanceof KeysUnavailableError) return 'keys_unavailable';
  if (error instanceof errors.JWTExpired) return 'expired';
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'iss') return 'issuer';
    if (error.claim === 'aud') return 'audience';
    if (error.claim === 'nbf' || error.claim === 'iat') return 'not_yet_valid';
    return 'claims';
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return 'algorithm';
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'signature';
  if (error instanceof errors.JWKSNoMatchingKey) return 'unknown_key';
  if (error instanceof errors.JOSEError) return 'malformed';
  return 'claims'; // verifyToken's own checks: subject, jti, groups, lifetime
}

// A header value the API server would read differently from what the token says.
// eslint-disable-next-line no-control-regex -- control characters are exactly what it looks for
const controlCharacters = /[\u0000-\u001f\u007f]/;
/** Any whitespace at either end; the API server trims spaces and tabs around header values. */
const surroundingSpace = /^\s|\s$/;

export interface AdmissionOptions {
  /** This destination's name: the `aud` every accepted token must carry. */
  destination: string;
  /** The operator's URL: the `iss` every accepted token must carry. */
  issuer: string;
  /** The operator's keys: a KeySet (a JwksCache, or the proxy thread's copy), or any jose key resolver. */
  keys: KeySet | JWTVerifyGetKey;
  /** Clock skew allowed on exp / nbf / iat. */
  clockToleranceSec: number;
  logger: Logger;
  /** Counts every refusal by reason (a FailureReason, or impersonation_header). */
  failures: Counter<'reason'>;
}

/** Who a token says the caller is: the identity forwarded, and the token's id for the audit line. */
export interface TokenIdentity extends Identity {
  jti: string;
}

/** Checks done before anything is sent upstream: the refusal to answer, or the identity to forward as. */
export type Admit = (req: IncomingMessage, type: 'request' | 'upgrade') => Promise<TokenIdentity | { refused: Refusal }>;

export function createAdmission(options: AdmissionOptions): Admit {
  const { logger, destination, issuer, clockToleranceSec, failures } = options;
  const keySet = typeof options.keys === 'function' ? undefined : options.keys;
  const getKey: JWTVerifyGetKey = keySet ? keySet.getKey : (options.keys as JWTVerifyGetKey);
  // Only a KeySet says when its keys change: with any other resolver, every token is verified every time.
  const verified = keySet ? new VerifiedTokenCache<TokenIdentity>({ clockToleranceSec }) : undefined;

  /** Verifies the caller's token; throws AuthenticationError (or a jose error) on any problem. */
  async function authenticate(req: IncomingMessage): Promise<TokenIdentity> {
    const token = bearerToken(req);
    if (!token) throw new AuthenticationError('missing_token', 'no bearer token');
    const keySetVersion = keySet?.version ?? 0;
    const cached = verified?.get(token, keySetVersion);
    if (cached) return cached;
    const claims = await verifyToken(token, { jwks: getKey, issuer, audience: destination, clockToleranceSec });
    const user = claims.subject;
    // The API server treats system: names as its own (system:masters is cluster-admin);
    // no token may claim one, whatever the hub or an identity provider put in it. It also
    // trims the spaces around a header value, so " system:masters" would arrive as
    // system:masters: a name with space around it is refused, never compared as it is.
    if (isReservedSubject(user)) throw new AuthenticationError('reserved_subject', 'subject is a reserved system: name');
    if (surroundingSpace.test(user)) throw new AuthenticationError('claims', 'subject has spaces around it');
    if (controlCharacters.test(user)) throw new AuthenticationError('claims', 'subject has control characters');
    const groups: string[] = [];
    for (const group of new Set(claims.groups)) {
      // No Grant can name such a group (the CRD refuses them), so nothing is lost.
      if (group === '' || isReservedSubject(group) || surroundingSpace.test(group)) {
        logger.warn({ user, group }, 'ignored a reserved, empty or space-padded group in a token');
        continue;
      }
      if (controlCharacters.test(group)) throw new AuthenticationError('claims', 'a group has control characters');
      groups.push(group);
    }
    const identity = { user, groups, jti: claims.jti };
    verified?.set(token, keySetVersion, claims.expiresAt.getTime() / 1000, identity);
    return identity;
  }

  return async function admit(req, type) {
    // Before anything else: a client never chooses who it is.
    if (hasImpersonationHeader(req.rawHeaders)) {
      failures.inc({ reason: 'impersonation_header' });
      logger.debug({ type, method: req.method, path: pathOf(req) }, 'refused: the client sent an impersonation header');
      return { refused: 'impersonation_header' };
    }
    if (!req.url?.startsWith('/')) return { refused: 'bad_target' };
    try {
      return await authenticate(req);
    } catch (error) {
      const reason = failureReason(error);
      failures.inc({ reason });
      // The token itself is never logged; jose's messages name the claim, not its value.
      logger.debug({ type, method: req.method, path: pathOf(req), reason, err: (error as Error).message }, 'refused: authentication failed');
      return { refused: reason === 'keys_unavailable' ? 'keys_unavailable' : 'unauthenticated' };
    }
  };
}
