// What can go wrong talking to an identity provider, in the three ways Infra acts on:
// the provider refused this person (log in again, or be offboarded), the provider is
// unreachable or failing (keep what works, retry), or Infra's setup there is wrong (an
// admin must act). Messages name the provider's own error and never carry a token.
import { ClientError, ResponseBodyError, WWWAuthenticateChallengeError } from 'openid-client';

export type UpstreamProblem = 'rejected' | 'unavailable' | 'misconfigured';

export class UpstreamError extends Error {
  override name = 'UpstreamError';
  readonly problem: UpstreamProblem;

  constructor(problem: UpstreamProblem, message: string) {
    super(message);
    this.problem = problem;
  }
}

/** The OAuth error code and description in an openid-client error, if it carries one. */
export function oauthError(err: unknown): { error: string; description?: string } | undefined {
  if (err instanceof ResponseBodyError) return { error: err.error, ...(err.error_description ? { description: err.error_description } : {}) };
  if (err instanceof WWWAuthenticateChallengeError) {
    const parameters = err.cause[0]?.parameters;
    if (parameters?.error) return { error: parameters.error, ...(parameters.error_description ? { description: parameters.error_description } : {}) };
  }
  return undefined;
}

const clientErrors = new Set(['invalid_client', 'unauthorized_client', 'unsupported_grant_type', 'invalid_scope']);

/** Classifies a failed call to the provider; `what` says what Infra was doing, e.g. "refreshing the session". */
export function upstreamError(err: unknown, what: string): UpstreamError {
  if (err instanceof UpstreamError) return err;
  const oauth = oauthError(err);
  if (oauth) {
    const text = `${oauth.error}${oauth.description ? ` (${oauth.description})` : ''}`;
    if (clientErrors.has(oauth.error)) {
      return new UpstreamError(
        'misconfigured',
        `the identity provider refused Infra's client while ${what}: ${text}; check spec.clientID and the client secret`,
      );
    }
    if (oauth.error === 'temporarily_unavailable' || oauth.error === 'server_error')
      return new UpstreamError('unavailable', `the identity provider failed while ${what}: ${text}`);
    return new UpstreamError('rejected', `the identity provider refused while ${what}: ${text}`);
  }
  if (err instanceof ClientError) {
    const detail = `${err.message}${err.cause instanceof Error ? `: ${err.cause.message}` : ''}`;
    // A response that arrived but failed validation (nonce, audience, expiry...) is a refusal, not an outage.
    if (/CLAIM|TIMESTAMP|INVALID_RESPONSE|PARSE/.test(String(err.code)))
      return new UpstreamError('rejected', `the identity provider's answer failed validation while ${what}: ${detail}`);
    return new UpstreamError('unavailable', `the identity provider answered unexpectedly while ${what}: ${detail}`);
  }
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return new UpstreamError(
    'unavailable',
    `cannot reach the identity provider while ${what}: ${cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err))}`,
  );
}
