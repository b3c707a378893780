// An audit line is an audit.k8s.io/v1 Event on a line of its own, told from a log line by
// its kind and apiVersion, naming credentials the way the kube-apiserver does, and never
// carrying a secret in the one free-form part, its annotations.
import { describe, expect, it } from 'vitest';
import { auditEvent, createAuditLog, isAuditEvent, jtiCredentialID } from './audit.ts';

describe('the audit log', () => {
  it('writes one Event per line with the program as an annotation, and nothing of a log line (no time, msg or pino level)', () => {
    const lines: string[] = [];
    const log = createAuditLog('infra-operator', {
      annotations: { 'infrahq.com/destination': 'prod' },
      destination: { write: (line: string) => lines.push(line) },
    });
    const received = new Date('2026-01-02T03:04:05.678Z');
    const auditID = log.record({
      requestURI: '/apis/auth.infrahq.com/v1alpha1/tokenrequests',
      verb: 'create',
      user: { username: 'ann@example.com', groups: ['sre'] },
      objectRef: { resource: 'tokenrequests', apiGroup: 'auth.infrahq.com', apiVersion: 'v1alpha1' },
      code: 201,
      received,
      annotations: { 'authentication.kubernetes.io/issued-credential-id': jtiCredentialID('abc') },
    });
    expect(lines).toHaveLength(1);
    expect(lines[0]!.endsWith('\n')).toBe(true);
    expect(lines[0]!.trimEnd()).not.toContain('\n');
    const line = JSON.parse(lines[0]!) as unknown;
    expect(isAuditEvent(line)).toBe(true);
    expect(line).toEqual({
      kind: 'Event',
      apiVersion: 'audit.k8s.io/v1',
      level: 'Metadata',
      auditID,
      stage: 'ResponseComplete',
      requestURI: '/apis/auth.infrahq.com/v1alpha1/tokenrequests',
      verb: 'create',
      user: { username: 'ann@example.com', groups: ['sre'] },
      objectRef: { resource: 'tokenrequests', apiGroup: 'auth.infrahq.com', apiVersion: 'v1alpha1' },
      responseStatus: { metadata: {}, code: 201 },
      requestReceivedTimestamp: '2026-01-02T03:04:05.678Z',
      stageTimestamp: expect.any(String),
      annotations: {
        'infrahq.com/component': 'infra-operator',
        'infrahq.com/destination': 'prod',
        'authentication.kubernetes.io/issued-credential-id': 'JTI=abc',
      },
    });
  });

  it("puts a record's annotations over the program's, and writes the fields in the API server's order", () => {
    const lines: string[] = [];
    const log = createAuditLog('infra-connector', {
      annotations: { 'infrahq.com/destination': 'prod', password: 'hunter2' },
      destination: { write: (line: string) => lines.push(line) },
    });
    const record = { requestURI: '/api', verb: 'get', user: { username: 'ann' }, userAgent: 'kubectl', sourceIPs: ['10.0.0.1'], code: 200 };
    log.record({ ...record, annotations: { 'infrahq.com/destination': 'staging' } });
    log.record(record);
    const [overridden, plain] = lines.map((line) => JSON.parse(line) as { annotations: Record<string, string> });
    expect(overridden!.annotations).toEqual({ 'infrahq.com/destination': 'staging', password: '[redacted]', 'infrahq.com/component': 'infra-connector' });
    expect(plain!.annotations).toEqual({ 'infrahq.com/destination': 'prod', password: '[redacted]', 'infrahq.com/component': 'infra-connector' });
    expect(Object.keys(plain!)).toEqual([
      'kind',
      'apiVersion',
      'level',
      'auditID',
      'stage',
      'requestURI',
      'verb',
      'user',
      'sourceIPs',
      'userAgent',
      'responseStatus',
      'requestReceivedTimestamp',
      'stageTimestamp',
      'annotations',
    ]);
  });

  it('keeps the auditID it is given, and makes a new one otherwise', () => {
    expect(auditEvent('c', { auditID: 'given', requestURI: '/', verb: 'get', user: {}, code: 200 }).auditID).toBe('given');
    const [a, b] = [1, 2].map(() => auditEvent('c', { requestURI: '/', verb: 'get', user: {}, code: 200 }).auditID);
    expect(a).not.toBe(b);
  });

  it('redacts a secret-named annotation, and keeps every response code (no OAuth-code redaction of responseStatus.code)', () => {
    const event = auditEvent('c', {
      requestURI: '/',
      verb: 'create',
      user: {},
      code: 401,
      annotations: { password: 'hunter2', token: 'eyJ.x.y', reason: 'denied' },
    });
    expect(event.annotations).toEqual({ password: '[redacted]', token: '[redacted]', reason: 'denied', 'infrahq.com/component': 'c' });
    expect(event.responseStatus.code).toBe(401);
    expect(JSON.stringify(event)).not.toMatch(/hunter2|eyJ/);
  });

  it('is told from a log line, and names a JWT as the kube-apiserver does', () => {
    expect(isAuditEvent({ level: 'info', msg: 'login', kind: 'Event' })).toBe(false);
    expect(isAuditEvent(null)).toBe(false);
    expect(jtiCredentialID('Zm9v')).toBe('JTI=Zm9v');
  });
});
