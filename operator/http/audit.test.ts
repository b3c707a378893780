// The operator's audit line for a request it answered: the caller and the credential it
// used, what the answer issued, and the client's address as the door saw it.
import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { createAuditLog, type AuditEvent } from '../../lib/audit.ts';
import { auditAnswered, callerUser, credentialID } from './audit.ts';

function record(overrides: Partial<Parameters<typeof auditAnswered>[1]>): AuditEvent {
  const lines: string[] = [];
  const req = { url: '/apis/auth.infrahq.com/v1alpha1/tokenrequests', headers: { 'user-agent': 'infra/1.0' }, socket: { remoteAddress: '10.0.0.9' } };
  auditAnswered(createAuditLog('infra-operator', { destination: { write: (line: string) => lines.push(line) } }), {
    req: req as unknown as IncomingMessage,
    received: new Date('2026-01-01T00:00:00Z'),
    code: 201,
    verb: 'create',
    objectRef: { resource: 'tokenrequests', apiGroup: 'auth.infrahq.com', apiVersion: 'v1alpha1' },
    clientAddress: '203.0.113.7',
    caller: undefined,
    note: {},
    ...overrides,
  });
  return JSON.parse(lines[0]!) as AuditEvent;
}

const caller = { identity: { email: 'ann@example.com', groups: ['okta:sre'] }, credential: { kind: 'session', id: 'abc123' } } as Parameters<
  typeof callerUser
>[0];

describe('the audit line of an answered request', () => {
  it('names the caller with the session it used, what was issued, and the client address the door trusts', () => {
    const event = record({ caller, note: { issuedCredentialID: 'JTI=xyz', annotations: { 'infrahq.com/destination': 'prod' } } });
    expect(event).toMatchObject({
      requestURI: '/apis/auth.infrahq.com/v1alpha1/tokenrequests',
      verb: 'create',
      user: { username: 'ann@example.com', groups: ['okta:sre'], extra: { 'authentication.kubernetes.io/credential-id': ['Session=abc123'] } },
      sourceIPs: ['203.0.113.7'],
      userAgent: 'infra/1.0',
      responseStatus: { code: 201 },
      requestReceivedTimestamp: '2026-01-01T00:00:00.000Z',
      annotations: { 'authentication.kubernetes.io/issued-credential-id': 'JTI=xyz', 'infrahq.com/destination': 'prod' },
    });
  });

  it('takes the user a handler found over the caller, and no user when neither is known (a refused login)', () => {
    expect(record({ caller, note: { user: { username: 'bob@example.com' } } }).user).toEqual({ username: 'bob@example.com' });
    expect(record({ code: 401 }).user).toEqual({});
  });

  it('takes the socket address when the door identifies clients otherwise (the aggregated door: a hub user)', () => {
    expect(record({ clientAddress: 'hub:front-proxy-user' }).sourceIPs).toEqual(['10.0.0.9']);
  });

  it('names sessions and access keys as the API server names a JWT', () => {
    expect(credentialID({ kind: 'session', id: 'a' })).toBe('Session=a');
    expect(credentialID({ kind: 'access-key', id: 'b' })).toBe('AccessKey=b');
  });
});
