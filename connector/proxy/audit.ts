// The proxy's audit line: one audit.k8s.io/v1 Event per request, written when the answer
// is complete (for exec, attach and port-forward, when the connection ends), refused or
// forwarded. It names the user as the token does, with the token's `jti` as the credential
// id in the API server's own form, and its auditID is sent to the API server as the
// request's Audit-ID: the spoke's audit log records the same id for the same request, so
// the two lines join exactly (docs/security.md).
import type { IncomingMessage } from 'node:http';
import { credentialIDKey, jtiCredentialID, type AuditLog, type AuditRecord, type AuditUser } from '../../lib/audit.ts';
import type { TokenIdentity } from './admission.ts';
import { firstHeader } from './headers.ts';
import { requestInfo } from './request-info.ts';

/** The code recorded when the client went away before it was answered (nginx's "client closed request"). */
export const clientClosedRequest = 499;

export interface ProxiedRequest {
  req: IncomingMessage;
  /** Sent upstream as Audit-ID. */
  auditID: string;
  received: Date;
  /** Absent when the request was refused before its token was verified. */
  identity?: TokenIdentity;
}

function auditUser(identity: TokenIdentity | undefined): AuditUser {
  if (!identity) return {};
  return { username: identity.user, groups: identity.groups, extra: { [credentialIDKey]: [jtiCredentialID(identity.jti)] } };
}

/** Writes the line for a request the proxy answered with `code`. */
export function auditProxiedRequest(log: AuditLog, { req, auditID, received, identity }: ProxiedRequest, code: number): void {
  const target = req.url ?? '';
  const { verb, objectRef } = requestInfo(req.method ?? '', target.startsWith('/') ? target : '/');
  const record: AuditRecord = { auditID, requestURI: target, verb, user: auditUser(identity), code, received };
  const sourceIP = req.socket.remoteAddress;
  if (sourceIP !== undefined) record.sourceIPs = [sourceIP];
  const userAgent = firstHeader(req.rawHeaders, 'user-agent');
  if (userAgent !== undefined) record.userAgent = userAgent;
  if (objectRef) record.objectRef = objectRef;
  log.record(record);
}
