// Where a provider's groups come from besides the groups claim: an API of the provider
// (Microsoft Graph for Azure AD, the Directory API for Google Workspace). Each source is
// a small object behind this interface, so its requests and parsing are unit-tested
// against recorded responses without the real service.
import { UpstreamError } from './errors.ts';

export interface Person {
  email: string;
  /** The directory object ID (Azure AD's oid claim), when the provider has one. */
  objectId?: string;
}

export interface GroupSource {
  /** Every group name of the person; UpstreamError('rejected') when the directory has no such person. */
  groupsOf(person: Person): Promise<string[]>;
}

export type Fetch = typeof fetch;

const requestTimeoutMs = 10_000;

/** A JSON API call with Infra's error classes: 404 means the person is gone, 401/403 a setup problem. */
export async function getJSON<T>(fetcher: Fetch, url: string, accessToken: string, api: string): Promise<T> {
  let res: Response;
  try {
    res = await fetcher(url, {
      headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json' },
      signal: AbortSignal.timeout(requestTimeoutMs),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause;
    throw new UpstreamError('unavailable', `cannot reach ${api}: ${cause?.code ?? (err as Error).message}`);
  }
  if (res.ok) return (await res.json()) as T;
  const detail = await errorDetail(res);
  if (res.status === 404) throw new UpstreamError('rejected', `${api} does not know the user (HTTP 404${detail})`);
  if (res.status === 401 || res.status === 403) throw new UpstreamError('misconfigured', `${api} refused Infra's credentials (HTTP ${res.status}${detail})`);
  throw new UpstreamError('unavailable', `${api} answered HTTP ${res.status}${detail}`);
}

async function errorDetail(res: Response): Promise<string> {
  const body = (await res.json().catch(() => undefined)) as { error?: { message?: string; code?: string | number } } | undefined;
  const message = body?.error?.message;
  return message ? `: ${message}` : '';
}

/** An access token kept until a minute before it expires. */
export function cachedToken(fetchToken: () => Promise<{ accessToken: string; expiresInSeconds: number }>, now: () => number = Date.now): () => Promise<string> {
  let cached: { accessToken: string; until: number } | undefined;
  return async () => {
    if (cached && cached.until > now()) return cached.accessToken;
    const { accessToken, expiresInSeconds } = await fetchToken();
    cached = { accessToken, until: now() + Math.max(0, expiresInSeconds - 60) * 1000 };
    return accessToken;
  };
}
