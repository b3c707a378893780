// Reading and joining audit trails in tests: the Infra programs' audit lines (on their
// stdout, among log lines) and a kube-apiserver's audit log. The joins are the ones
// docs/security.md tells an auditor to make:
//   login ──issued Session=<id>──▶ TokenRequest ──issued JTI=<jti>──▶ request
// where "request" is the connector's line (proxy mode, then the spoke's line with the same
// auditID) or the spoke's own line (direct mode: its credential-id is JTI=<jti>).
import { readFile } from 'node:fs/promises';
import { credentialIDKey, isAuditEvent, issuedCredentialIDAnnotation, jtiCredentialID, type AuditEvent } from '../lib/audit.ts';

/** The audit Events among a program's output lines. */
export function auditEventsIn(lines: readonly string[]): AuditEvent[] {
  return lines.flatMap((line) => {
    if (!line.startsWith('{')) return [];
    const parsed = JSON.parse(line) as unknown;
    return isAuditEvent(parsed) ? [parsed] : [];
  });
}

/** A kube-apiserver's audit log (--audit-log-path, JSON lines). */
export async function readAuditLog(path: string): Promise<AuditEvent[]> {
  return auditEventsIn((await readFile(path, 'utf8')).split('\n'));
}

/** The credential id a line's user authenticated with. */
export function credentialOf(event: AuditEvent): string | undefined {
  return event.user.extra?.[credentialIDKey]?.[0];
}

/** Lines whose user authenticated with the token of this `jti`: the connector's in proxy mode, a spoke's in direct mode. */
export function requestsWithToken(events: readonly AuditEvent[], jti: string): AuditEvent[] {
  return events.filter((event) => credentialOf(event) === jtiCredentialID(jti));
}

/** The line for the same request in another log: the proxy sends its auditID as the request's Audit-ID. */
export function sameRequest(events: readonly AuditEvent[], event: AuditEvent): AuditEvent | undefined {
  return events.find((other) => other.auditID === event.auditID);
}

export interface IssuingChain {
  /** The Login that made the session the token was requested with. */
  login: AuditEvent;
  /** The TokenRequest that issued the token. */
  tokenRequest: AuditEvent;
}

/** The operator's lines that produced the token of this `jti`: its TokenRequest, and the Login of the session behind it. */
export function issuingChain(operatorEvents: readonly AuditEvent[], jti: string): IssuingChain | undefined {
  const issued = (event: AuditEvent, resource: string, id: string) =>
    event.objectRef?.resource === resource && event.annotations[issuedCredentialIDAnnotation] === id;
  const tokenRequest = operatorEvents.find((event) => issued(event, 'tokenrequests', jtiCredentialID(jti)));
  const session = tokenRequest && credentialOf(tokenRequest);
  const login = session !== undefined ? operatorEvents.find((event) => issued(event, 'logins', session)) : undefined;
  return tokenRequest && login ? { login, tokenRequest } : undefined;
}
