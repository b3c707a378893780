// infra request and infra requests through the real argument parser, against a fake
// server that records each call: what is sent, what is printed, and that a refusal
// reaches the user as the server's sentence.
import { describe, expect, it } from 'vitest';
import { ApiStatusError } from './errors.ts';
import { fake } from './testing.ts';

const api = '/apis/infrahq.com/v1alpha1/accessrequests';
const request = (name: string, requester: string, state: string, extra: object = {}) => ({
  metadata: { name, creationTimestamp: new Date(Date.now() - 120_000).toISOString() },
  spec: { role: 'edit', resource: 'production.web', duration: '2h' },
  status: { state, requester, ...extra },
});

describe('infra request', () => {
  it('sends the role, resource, duration and reason, never a requester, and prints the state', async () => {
    const f = fake({
      request: (_m, _p, body) => ({ ...(body as object), metadata: { name: 'alice-edit-production-web-abc123' }, status: { state: 'Pending' } }),
    });
    await f.run('request', 'edit', 'production.web', '--for', '2h', '--reason', 'INC-1');
    expect(f.requests).toEqual([
      {
        method: 'POST',
        path: api,
        body: {
          apiVersion: 'infrahq.com/v1alpha1',
          kind: 'AccessRequest',
          spec: { role: 'edit', resource: 'production.web', duration: '2h', reason: 'INC-1' },
        },
        contentType: undefined,
      },
    ]);
    expect(f.out).toEqual(['AccessRequest alice-edit-production-web-abc123: role edit on production.web for 2h is Pending']);
  });

  it("refuses a bad --for before asking, and passes on the server's refusal naming the policy", async () => {
    await expect(fake().run('request', 'edit', 'production', '--for', 'soon')).rejects.toThrow('--for soon is not a duration; use e.g. 30m, 2h or 1h30m');
    const refusal = 'AccessPolicy engineering allows at most 4h for role edit on production.web; you asked for 8h: ask for 4h or less';
    const f = fake({
      request: () => {
        throw new ApiStatusError(403, 'Forbidden', refusal);
      },
    });
    await expect(f.run('request', 'edit', 'production.web', '--for', '8h')).rejects.toThrow(refusal);
  });
});

describe('infra requests', () => {
  const items = [
    request('alice-1', 'alice@example.com', 'Pending'),
    request('bob-1', 'bob@example.com', 'Pending'),
    request('alice-0', 'alice@example.com', 'Expired'),
  ];

  it('lists the requests as a table, --mine and --pending narrow it', async () => {
    const f = fake({ request: () => ({ items }) });
    await f.run('requests', 'list', '--mine', '--pending');
    expect(f.out[0]).toBe(
      [
        '  NAME (1)  USER               ROLE  RESOURCE        DURATION  STATE    AGE',
        '  alice-1   alice@example.com  edit  production.web  2h        Pending  2m',
      ].join('\n'),
    );
    const json = fake({ request: () => ({ items }) });
    await json.run('requests', 'list', '--pending', '-o', 'json');
    expect((JSON.parse(json.out[0]!) as { metadata: { name: string } }[]).map((r) => r.metadata.name)).toEqual(['alice-1', 'bob-1']);
  });

  it('approves with a comment, says when more approvals are needed, and cancels and revokes by name', async () => {
    const f = fake({
      request: (_m, path) =>
        path.endsWith('/approve')
          ? request('bob-1', 'bob@example.com', 'Pending', { reviews: [{ user: 'alice@example.com', decision: 'Approve' }] })
          : request('bob-1', 'bob@example.com', path.endsWith('/cancel') ? 'Cancelled' : 'Revoked'),
    });
    await f.run('requests', 'approve', 'bob-1', '--comment', 'ok');
    await f.run('requests', 'cancel', 'bob-1');
    await f.run('requests', 'revoke', 'bob-1');
    expect(f.requests.map((r) => [r.method, r.path, r.body])).toEqual([
      ['POST', `${api}/bob-1/approve`, { comment: 'ok' }],
      ['POST', `${api}/bob-1/cancel`, {}],
      ['POST', `${api}/bob-1/revoke`, {}],
    ]);
    expect(f.out).toEqual([
      'AccessRequest bob-1: your approval is recorded (1 so far); it needs more before access is granted',
      'AccessRequest bob-1: role edit on production.web for 2h is Cancelled',
      'AccessRequest bob-1: role edit on production.web for 2h is Revoked',
    ]);
  });
});

describe('infra list', () => {
  it('shows your pending requests under your access', async () => {
    const f = fake({ request: () => ({ items: [request('alice-1', 'alice@example.com', 'Pending'), request('bob-1', 'bob@example.com', 'Pending')] }) });
    await f.run('list');
    expect(f.out.join('\n')).toContain(
      [
        'Your pending access requests:',
        '  NAME (1)  USER               ROLE  RESOURCE        DURATION  STATE    AGE',
        '  alice-1   alice@example.com  edit  production.web  2h        Pending  2m',
      ].join('\n'),
    );
  });
});
