// Google Workspace groups: the Admin SDK Directory API's groups.list for the user, read
// by a service account with domain-wide delegation acting as a Workspace admin (Google's
// ID tokens carry no groups). Group names are the groups' email addresses, which are
// unique and stable, e.g. eng@example.com.
import { importPKCS8, SignJWT } from 'jose';
import { UpstreamError } from './errors.ts';
import { cachedToken, getJSON, type Fetch, type GroupSource } from './groups.ts';

export const directoryScope = 'https://www.googleapis.com/auth/admin.directory.group.readonly';
const directoryBase = 'https://admin.googleapis.com/admin/directory/v1';
const defaultTokenURI = 'https://oauth2.googleapis.com/token';

/** The fields Infra reads from a service account's JSON key file. */
export interface ServiceAccountKey {
  client_email: string;
  private_key: string;
  token_uri?: string;
}

export function parseServiceAccountKey(json: string): ServiceAccountKey {
  let key: Partial<ServiceAccountKey>;
  try {
    key = JSON.parse(json) as Partial<ServiceAccountKey>;
  } catch {
    throw new UpstreamError('misconfigured', 'the Google service account key is not JSON: put the key file downloaded from the Cloud console in the Secret');
  }
  if (typeof key.client_email !== 'string' || typeof key.private_key !== 'string') {
    throw new UpstreamError('misconfigured', 'the Google service account key has no client_email or private_key: use a JSON key file of a service account');
  }
  return { client_email: key.client_email, private_key: key.private_key, ...(typeof key.token_uri === 'string' ? { token_uri: key.token_uri } : {}) };
}

/** The signed JWT a service account exchanges for an access token as `subject` (RFC 7523). */
export async function serviceAccountAssertion(key: ServiceAccountKey, subject: string, now: Date): Promise<string> {
  const iat = Math.floor(now.getTime() / 1000);
  return new SignJWT({ scope: directoryScope })
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT' })
    .setIssuer(key.client_email)
    .setSubject(subject)
    .setAudience(key.token_uri ?? defaultTokenURI)
    .setIssuedAt(iat)
    .setExpirationTime(iat + 3600)
    .sign(await importPKCS8(key.private_key, 'RS256'));
}

export function groupsListURL(userKey: string, pageToken?: string): string {
  const query = new URLSearchParams({ userKey, maxResults: '200', ...(pageToken ? { pageToken } : {}) });
  return `${directoryBase}/groups?${query}`;
}

interface GroupsPage {
  groups?: { id?: string; email?: string; name?: string }[];
  nextPageToken?: string;
}

export function directoryGroups(key: ServiceAccountKey, adminEmail: string, fetcher: Fetch = fetch, now: () => Date = () => new Date()): GroupSource {
  const accessToken = cachedToken(
    async () => {
      const tokenURI = key.token_uri ?? defaultTokenURI;
      const body = new URLSearchParams({
        grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
        assertion: await serviceAccountAssertion(key, adminEmail, now()),
      });
      let res: Response;
      try {
        res = await fetcher(tokenURI, {
          method: 'POST',
          body,
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          signal: AbortSignal.timeout(10_000),
        });
      } catch (err) {
        throw new UpstreamError('unavailable', `cannot reach ${tokenURI}: ${(err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message}`);
      }
      const token = (await res.json().catch(() => ({}))) as { access_token?: string; expires_in?: number; error?: string; error_description?: string };
      if (!res.ok || !token.access_token) {
        throw new UpstreamError(
          res.status >= 500 ? 'unavailable' : 'misconfigured',
          `Google refused the service account ${key.client_email} acting as ${adminEmail}: ${token.error ?? `HTTP ${res.status}`}${token.error_description ? ` (${token.error_description})` : ''}; check domain-wide delegation for scope ${directoryScope} and spec.google.adminEmail`,
        );
      }
      return { accessToken: token.access_token, expiresInSeconds: token.expires_in ?? 3600 };
    },
    () => now().getTime(),
  );
  return {
    async groupsOf(person) {
      const groups: string[] = [];
      let pageToken: string | undefined;
      do {
        const page: GroupsPage = await getJSON<GroupsPage>(
          fetcher,
          groupsListURL(person.email, pageToken),
          await accessToken(),
          'the Google Directory API (groups.list)',
        );
        for (const group of page.groups ?? []) if (typeof group.email === 'string' && group.email !== '') groups.push(group.email);
        pageToken = page.nextPageToken;
      } while (pageToken);
      return groups;
    },
  };
}
