// An audit line is an audit.k8s.io/v1 Event on a line of its own, told from a log line by
// its kind and apiVersion, naming credentials the way the kube-apiserver does, and never
// carrying a secret in the one free-form part, its annotations.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createAuditLog, isAuditEvent, jtiCredentialID, timestamp, type AuditEvent } from './audit.ts';

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

  /** A log writing to an array, and the Events it wrote. */
  function capturedLog(component = 'c') {
    const lines: string[] = [];
    const log = createAuditLog(component, { destination: { write: (line: string) => lines.push(line) } });
    return { log, lines, events: () => lines.map((line) => JSON.parse(line) as AuditEvent) };
  }

  it('keeps the auditID it is given, and makes a new one otherwise', () => {
    const { log, events } = capturedLog();
    expect(log.record({ auditID: 'given', requestURI: '/', verb: 'get', user: {}, code: 200 })).toBe('given');
    const [a, b] = [1, 2].map(() => log.record({ requestURI: '/', verb: 'get', user: {}, code: 200 }));
    expect(a).not.toBe(b);
    expect(events().map((event) => event.auditID)).toEqual(['given', a, b]);
  });

  it('redacts a secret-named annotation, and keeps every response code (no OAuth-code redaction of responseStatus.code)', () => {
    const { log, lines, events } = capturedLog();
    log.record({ requestURI: '/', verb: 'create', user: {}, code: 401, annotations: { password: 'hunter2', token: 'eyJ.x.y', reason: 'denied' } });
    const [event] = events();
    expect(event!.annotations).toEqual({ password: '[redacted]', token: '[redacted]', reason: 'denied', 'infrahq.com/component': 'c' });
    expect(event!.responseStatus.code).toBe(401);
    expect(lines[0]).not.toMatch(/hunter2|eyJ/);
  });

  it('writes each line as JSON.stringify writes the Event it holds, whatever the strings in it', () => {
    const text = fc.string({ unit: 'binary', maxLength: 12 });
    const user = fc.record({ username: text, groups: fc.array(text, { maxLength: 3 }) }, { requiredKeys: [] });
    const record = fc.record(
      {
        requestURI: text,
        verb: text,
        user,
        impersonatedUser: user,
        sourceIPs: fc.array(text, { maxLength: 2 }),
        userAgent: text,
        objectRef: fc.record({ resource: text, namespace: text, name: text, apiVersion: text }, { requiredKeys: [] }),
        code: fc.integer({ min: 100, max: 599 }),
        received: fc.date({ min: new Date(0), max: new Date('9999-12-31T23:59:59.999Z'), noInvalidDate: true }),
        annotations: fc.dictionary(text, text, { maxKeys: 2 }),
      },
      { requiredKeys: ['requestURI', 'verb', 'user', 'code'] },
    );
    fc.assert(
      fc.property(record, (given) => {
        const { log, lines, events } = capturedLog();
        log.record(given);
        const [event] = events();
        expect(`${JSON.stringify(event)}\n`).toBe(lines[0]);
        expect(event!.requestURI).toBe(given.requestURI);
        expect(event!.user).toEqual(JSON.parse(JSON.stringify(given.user)));
        if (given.received) expect(event!.requestReceivedTimestamp).toBe(given.received.toISOString());
      }),
    );
  });

  it('writes a time as toISOString does, across seconds, years and its range', () => {
    fc.assert(
      fc.property(fc.integer({ min: -8.64e15, max: 8.64e15 - 1 }), (ms) => {
        expect(timestamp(ms)).toBe(new Date(ms).toISOString());
        expect(timestamp(ms + 1)).toBe(new Date(ms + 1).toISOString());
      }),
    );
    expect(timestamp(Date.UTC(2026, 11, 31, 23, 59, 59, 999))).toBe('2026-12-31T23:59:59.999Z');
    expect(timestamp(Date.UTC(2027, 0, 1))).toBe('2027-01-01T00:00:00.000Z');
  });

  it('is told from a log line, and names a JWT as the kube-apiserver does', () => {
    expect(isAuditEvent({ level: 'info', msg: 'login', kind: 'Event' })).toBe(false);
    expect(isAuditEvent(null)).toBe(false);
    expect(jtiCredentialID('Zm9v')).toBe('JTI=Zm9v');
  });
});
