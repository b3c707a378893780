// The operator's audit lines for the requests it answers (lib/audit.ts): who asked, with
// which credential, and which credential the answer issued. A Login names the session it
// made; a TokenRequest names the session it was sent with and the `jti` of the token it
// issued, as the kube-apiserver names a JWT: the connector's line for each request with that
// token, and a spoke API server's own, carry the same credential id. So the chain login →
// TokenRequest → request joins on credential ids (docs/security.md).
import { isIP } from 'node:net';
import type { IncomingMessage } from 'node:http';
import { credentialIDKey, issuedCredentialIDAnnotation, type AuditLog, type AuditObjectRef, type AuditUser } from '../../lib/audit.ts';
import type { Credential, CredentialKind } from '../credentials/store.ts';
import type { Caller } from './caller.ts';

const credentialPrefixes: Record<CredentialKind, string> = { session: 'Session', 'access-key': 'AccessKey' };

/** How audit lines name an Infra session or access key: `Session=<id>`, `AccessKey=<id>` (like the API server's `JTI=<jti>`). */
export function credentialID(credential: Pick<Credential, 'kind' | 'id'>): string {
  return `${credentialPrefixes[credential.kind]}=${credential.id}`;
}

/** What a request's handler adds to its audit line: who it turned out to be, and what it issued. */
export interface AuditNote {
  /** The user the request authenticated (a Login's), when the caller was not known before. */
  user?: AuditUser;
  /** The credential the answer carries: a session, an access key, a token's `JTI=<jti>`. */
  issuedCredentialID?: string;
  annotations?: Record<string, string>;
}

/** The user an audit line names for a caller: email, groups, and the credential it used. */
export function callerUser(caller: Caller): AuditUser {
  const { email, groups } = caller.identity;
  return { username: email, groups, ...(caller.credential ? { extra: { [credentialIDKey]: [credentialID(caller.credential)] } } : {}) };
}

export interface AnsweredRequest {
  req: IncomingMessage;
  received: Date;
  code: number;
  verb: string;
  objectRef: AuditObjectRef;
  /** The client's address as the door sees it (a trusted proxy's X-Forwarded-For), when it is an address. */
  clientAddress: string | undefined;
  caller: Caller | undefined;
  note: AuditNote;
}

/** Writes the audit line of a request the operator answered. */
export function auditAnswered(log: AuditLog, answered: AnsweredRequest): void {
  const { req, received, code, verb, objectRef, clientAddress, caller, note } = answered;
  const sourceIP = clientAddress !== undefined && isIP(clientAddress) ? clientAddress : req.socket.remoteAddress;
  const userAgent = req.headers['user-agent'];
  log.record({
    requestURI: req.url ?? '',
    verb,
    user: note.user ?? (caller ? callerUser(caller) : {}),
    ...(sourceIP !== undefined ? { sourceIPs: [sourceIP] } : {}),
    ...(userAgent !== undefined ? { userAgent } : {}),
    objectRef,
    code,
    received,
    annotations: { ...note.annotations, ...(note.issuedCredentialID ? { [issuedCredentialIDAnnotation]: note.issuedCredentialID } : {}) },
  });
}
