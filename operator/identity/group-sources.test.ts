// The Azure AD and Google group sources against recorded response shapes of Microsoft
// Graph and the Google Directory API (the real services cannot be reached from tests):
// the requests they build, paging, parsing, and what their errors mean to Infra.
import { exportPKCS8, exportSPKI, generateKeyPair, importSPKI, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { graphMemberOf, memberOfURL } from './azure-graph.ts';
import { directoryGroups, directoryScope, groupsListURL, parseServiceAccountKey } from './google-directory.ts';
import { cachedToken, type Fetch } from './groups.ts';

interface Recorded {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string | undefined;
}

/** A fetch that answers from a script of (URL prefix → status, JSON) and records each request. */
function scripted(answers: [string, number, unknown][]): { fetch: Fetch; requests: Recorded[] } {
  const requests: Recorded[] = [];
  const fetcher = (async (input: string | URL, init?: RequestInit) => {
    const url = String(input);
    requests.push({
      url,
      method: init?.method ?? 'GET',
      headers: Object.fromEntries(new Headers(init?.headers).entries()),
      body: init?.body instanceof URLSearchParams || typeof init?.body === 'string' ? init.body.toString() : undefined,
    });
    const answer = answers.find(([prefix]) => url.startsWith(prefix));
    if (!answer) throw new TypeError('fetch failed', { cause: { code: 'ENOTFOUND' } });
    return new Response(JSON.stringify(answer[2]), { status: answer[1], headers: { 'content-type': 'application/json' } });
  }) as Fetch;
  return { fetch: fetcher, requests };
}

const oid = '6e7b768e-07e2-4810-8459-485f84f8f204';

describe('Microsoft Graph memberOf (Azure AD)', () => {
  const page1 = {
    '@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#groups(id)',
    '@odata.nextLink': `https://graph.microsoft.com/v1.0/users/${oid}/memberOf/microsoft.graph.group?$select=id&$top=999&$skiptoken=RFNwdAIAAQAAAB`,
    value: [
      { '@odata.type': '#microsoft.graph.group', id: '02bd9fd6-8f93-4758-87c3-1fb73740a315', displayName: 'Engineering' },
      { '@odata.type': '#microsoft.graph.group', displayName: 'No ID' },
    ],
  };
  const page2 = {
    '@odata.context': page1['@odata.context'],
    value: [{ '@odata.type': '#microsoft.graph.group', id: 'b320ee12-b1cd-4cca-b648-a437be61c5cd', displayName: 'Oncall' }],
  };

  it("asks for the user's groups by object ID with the app token, follows @odata.nextLink, and names groups by object ID, never display name", async () => {
    const { fetch, requests } = scripted([
      [`https://graph.microsoft.com/v1.0/users/${oid}/memberOf/microsoft.graph.group?$select=id&$top=999&$skiptoken`, 200, page2],
      [memberOfURL(oid), 200, page1],
    ]);
    const groups = await graphMemberOf(async () => 'app-token', fetch).groupsOf({ email: 'ann@contoso.com', objectId: oid });
    expect(groups).toEqual(['02bd9fd6-8f93-4758-87c3-1fb73740a315', 'b320ee12-b1cd-4cca-b648-a437be61c5cd']);
    expect(requests.map((r) => r.url)).toEqual([memberOfURL(oid), page1['@odata.nextLink']]);
    expect(requests[0]!.url).toBe(`https://graph.microsoft.com/v1.0/users/${oid}/memberOf/microsoft.graph.group?$select=id&$top=999`);
    expect(requests[0]!.headers['authorization']).toBe('Bearer app-token');
  });

  it('falls back to the UPN without an object ID', () => {
    expect(memberOfURL('ann@contoso.com')).toBe('https://graph.microsoft.com/v1.0/users/ann%40contoso.com/memberOf/microsoft.graph.group?$select=id&$top=999');
  });

  it('reads a deleted user as a refusal, a missing permission as a setup problem, a network failure as an outage', async () => {
    const notFound = {
      error: {
        code: 'Request_ResourceNotFound',
        message: `Resource '${oid}' does not exist or one of its queried reference-property objects are not present.`,
      },
    };
    const denied = { error: { code: 'Authorization_RequestDenied', message: 'Insufficient privileges to complete the operation.' } };
    const person = { email: 'ann@contoso.com', objectId: oid };
    await expect(graphMemberOf(async () => 't', scripted([['https://graph', 404, notFound]]).fetch).groupsOf(person)).rejects.toMatchObject({
      problem: 'rejected',
      message: expect.stringContaining('does not exist'),
    });
    await expect(graphMemberOf(async () => 't', scripted([['https://graph', 403, denied]]).fetch).groupsOf(person)).rejects.toMatchObject({
      problem: 'misconfigured',
      message: expect.stringContaining('Insufficient privileges'),
    });
    await expect(graphMemberOf(async () => 't', scripted([]).fetch).groupsOf(person)).rejects.toMatchObject({
      problem: 'unavailable',
      message: expect.stringContaining('ENOTFOUND'),
    });
  });
});

describe('Google Directory groups.list (Google Workspace)', async () => {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const keyFile = JSON.stringify({
    type: 'service_account',
    project_id: 'infra-test',
    private_key_id: 'abc123',
    private_key: await exportPKCS8(privateKey),
    client_email: 'infra-groups@infra-test.iam.gserviceaccount.com',
    client_id: '1234567890',
    token_uri: 'https://oauth2.googleapis.com/token',
  });
  const token = { access_token: 'ya29.a0AfH6SM', expires_in: 3599, token_type: 'Bearer' };
  const page1 = {
    kind: 'admin#directory#groups',
    etag: '"nMR2dT"',
    groups: [
      {
        kind: 'admin#directory#group',
        id: '03ep43zb2k1ab4q',
        etag: '"x"',
        email: 'eng@example.com',
        name: 'Engineering',
        directMembersCount: '12',
        adminCreated: true,
      },
    ],
    nextPageToken: 'Q2hBS0VnQ',
  };
  const page2 = {
    kind: 'admin#directory#groups',
    etag: '"y"',
    groups: [{ kind: 'admin#directory#group', id: '01x', email: 'oncall@example.com', name: 'Oncall' }],
  };

  it("signs a delegation assertion as the admin, then lists the user's groups page by page as group emails", async () => {
    const { fetch, requests } = scripted([
      ['https://oauth2.googleapis.com/token', 200, token],
      [groupsListURL('ann@example.com', 'Q2hBS0VnQ'), 200, page2],
      [groupsListURL('ann@example.com'), 200, page1],
    ]);
    const source = directoryGroups(parseServiceAccountKey(keyFile), 'admin@example.com', fetch, () => new Date());
    expect(await source.groupsOf({ email: 'ann@example.com' })).toEqual(['eng@example.com', 'oncall@example.com']);
    expect(requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      'POST https://oauth2.googleapis.com/token',
      'GET https://admin.googleapis.com/admin/directory/v1/groups?userKey=ann%40example.com&maxResults=200',
      'GET https://admin.googleapis.com/admin/directory/v1/groups?userKey=ann%40example.com&maxResults=200&pageToken=Q2hBS0VnQ',
    ]);
    const form = new URLSearchParams(requests[0]!.body);
    expect(form.get('grant_type')).toBe('urn:ietf:params:oauth:grant-type:jwt-bearer');
    const { payload, protectedHeader } = await jwtVerify(form.get('assertion')!, await importSPKI(await exportSPKI(publicKey), 'RS256'), {
      issuer: 'infra-groups@infra-test.iam.gserviceaccount.com',
      audience: 'https://oauth2.googleapis.com/token',
      subject: 'admin@example.com',
    });
    expect(protectedHeader.alg).toBe('RS256');
    expect(payload['scope']).toBe(directoryScope);
    expect(payload.exp! - payload.iat!).toBe(3600);
    expect(requests[1]!.headers['authorization']).toBe('Bearer ya29.a0AfH6SM');
    // The token is reused for the next person.
    await source.groupsOf({ email: 'ann@example.com' });
    expect(requests.filter((r) => r.url.includes('/token'))).toHaveLength(1);
  });

  it('reads a user without groups, a user the directory lacks, and refused delegation', async () => {
    const empty = scripted([
      ['https://oauth2.googleapis.com/token', 200, token],
      ['https://admin.googleapis.com', 200, { kind: 'admin#directory#groups', etag: '"z"' }],
    ]);
    expect(await directoryGroups(parseServiceAccountKey(keyFile), 'admin@example.com', empty.fetch).groupsOf({ email: 'new@example.com' })).toEqual([]);
    const gone = scripted([
      ['https://oauth2.googleapis.com/token', 200, token],
      ['https://admin.googleapis.com', 404, { error: { code: 404, message: 'Resource Not Found: userKey' } }],
    ]);
    await expect(
      directoryGroups(parseServiceAccountKey(keyFile), 'admin@example.com', gone.fetch).groupsOf({ email: 'left@example.com' }),
    ).rejects.toMatchObject({ problem: 'rejected' });
    const refused = scripted([
      [
        'https://oauth2.googleapis.com/token',
        401,
        {
          error: 'unauthorized_client',
          error_description: 'Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.',
        },
      ],
    ]);
    await expect(
      directoryGroups(parseServiceAccountKey(keyFile), 'admin@example.com', refused.fetch).groupsOf({ email: 'ann@example.com' }),
    ).rejects.toMatchObject({
      problem: 'misconfigured',
      message: expect.stringMatching(
        /refused the service account infra-groups@.* acting as admin@example\.com: unauthorized_client .*check domain-wide delegation/,
      ),
    });
  });

  it('says what is wrong with a key file that is not one', () => {
    expect(() => parseServiceAccountKey('{')).toThrow(/not JSON/);
    expect(() => parseServiceAccountKey('{"type":"authorized_user"}')).toThrow(/no client_email or private_key/);
  });
});

describe('app tokens', () => {
  it('are reused until a minute before they expire', async () => {
    let now = 0;
    let fetched = 0;
    const token = cachedToken(
      async () => ({ accessToken: `t${++fetched}`, expiresInSeconds: 3600 }),
      () => now,
    );
    expect(await token()).toBe('t1');
    now = 3_539_000;
    expect(await token()).toBe('t1');
    now = 3_541_000;
    expect(await token()).toBe('t2');
  });
});
