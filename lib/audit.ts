// The audit trail every Infra program writes: one JSON line per audited action, in the
// shape of a Kubernetes audit Event (audit.k8s.io/v1), on stdout beside the program's
// other log lines (ADR 18). The same shape as a kube-apiserver's audit log, so the lines of
// the operator, the connector and the spoke's API server can be read and joined by the same
// tools: a credential is named the way the API server names it (credentialID), and the
// connector's proxy gives the API server its own auditID.
//
// An audit line is told from a log line by `kind: Event` and `apiVersion: audit.k8s.io/v1`;
// it has no `level: info` or `msg` (its `level` is the audit level, Metadata). Its shape is
// fixed and holds no credential, only credential ids; the one free-form part, the
// annotations, is redacted as every log line is: no token, password or key is written.
// (Not through pino: its redaction would take responseStatus.code for an OAuth code, and
// its line must carry pino's own level.)
import { randomUUID } from 'node:crypto';
import { redactSecrets } from './log.ts';
import { stdoutLines } from './stdout-lines.ts';

/** user.extra's key for the credential a request was authenticated with (k8s.io/apiserver's user.CredentialIDKey). */
export const credentialIDKey = 'authentication.kubernetes.io/credential-id';
/** The annotation that names the credential a request issued (the API server's, for a service account's TokenRequest). */
export const issuedCredentialIDAnnotation = 'authentication.kubernetes.io/issued-credential-id';
/** The annotation that names the Infra program that wrote a line. */
export const componentAnnotation = 'infrahq.com/component';

/**
 * The credential id the kube-apiserver records for a JWT with this `jti` (k8s.io/apiserver
 * pkg/authentication/token/jwt CredentialIDForJTI, v1.36): `JTI=<jti>`.
 */
export function jtiCredentialID(jti: string): string {
  return `JTI=${jti}`;
}

export interface AuditUser {
  username?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
}

export interface AuditObjectRef {
  resource?: string;
  namespace?: string;
  name?: string;
  apiGroup?: string;
  apiVersion?: string;
  subresource?: string;
}

/** An audit.k8s.io/v1 Event at level Metadata: who did what to which object, and the answer. */
export interface AuditEvent {
  kind: 'Event';
  apiVersion: 'audit.k8s.io/v1';
  level: 'Metadata';
  auditID: string;
  /** One line per request, once its answer is complete. */
  stage: 'ResponseComplete';
  requestURI: string;
  verb: string;
  user: AuditUser;
  impersonatedUser?: AuditUser;
  sourceIPs?: string[];
  userAgent?: string;
  objectRef?: AuditObjectRef;
  responseStatus: { metadata: Record<string, never>; code: number };
  /** RFC 3339 with milliseconds. */
  requestReceivedTimestamp: string;
  stageTimestamp: string;
  annotations: Record<string, string>;
}

/** What a caller says about an action; the log fills in the rest. */
export interface AuditRecord extends Pick<AuditEvent, 'requestURI' | 'verb' | 'user' | 'impersonatedUser' | 'sourceIPs' | 'userAgent' | 'objectRef'> {
  /** The id to record, when one was given to the request already (the proxy sends it upstream); a new UUID otherwise. */
  auditID?: string;
  /** The answer's status code (the Event's responseStatus.code). */
  code: number;
  /** When the request arrived; now when absent (an action the program took by itself). */
  received?: Date;
  annotations?: Record<string, string>;
}

export interface AuditLog {
  /** Writes one audit line and returns its auditID. */
  record(record: AuditRecord): string;
}

/** A line's annotations: the program's (`programAnnotations`, redacted already), the record's over them, redacted, and the component. */
function annotationsOf(
  component: string,
  annotations: Record<string, string> | undefined,
  programAnnotations?: Record<string, string>,
): Record<string, string> {
  return {
    ...programAnnotations,
    ...(annotations ? (redactSecrets(annotations, 0) as Record<string, string>) : {}),
    [componentAnnotation]: component,
  };
}

// The line is written field by field, in the API server's order, each value through
// JSON.stringify: the same text as JSON.stringify of the whole Event, without building
// the Event first. The proxy writes one for every request, and building and serializing
// the object, with two toISOString calls, was the largest part of the proxy's own cost per request
// after its sockets (bench/README.md).
function auditLine(record: AuditRecord, auditID: string, annotationsJSON: string, stampedMs: number): string {
  const stamped = timestamp(stampedMs);
  const received = record.received ? timestamp(record.received.getTime()) : stamped;
  let line = `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":${JSON.stringify(auditID)},"stage":"ResponseComplete","requestURI":${JSON.stringify(record.requestURI)},"verb":${JSON.stringify(record.verb)},"user":${JSON.stringify(record.user)}`;
  if (record.impersonatedUser !== undefined) line += `,"impersonatedUser":${JSON.stringify(record.impersonatedUser)}`;
  if (record.sourceIPs !== undefined) line += `,"sourceIPs":${JSON.stringify(record.sourceIPs)}`;
  if (record.userAgent !== undefined) line += `,"userAgent":${JSON.stringify(record.userAgent)}`;
  if (record.objectRef !== undefined) line += `,"objectRef":${JSON.stringify(record.objectRef)}`;
  return `${line},"responseStatus":{"metadata":{},"code":${JSON.stringify(record.code)}},"requestReceivedTimestamp":"${received}","stageTimestamp":"${stamped}","annotations":${annotationsJSON}}\n`;
}

/** The end of year 9999: up to it (from 1970), toISOString writes exactly `YYYY-MM-DDTHH:MM:SS.mmmZ`. */
const endOfFourDigitYears = Date.UTC(10000, 0, 1);
let formattedSecond = NaN;
let formattedPrefix = '';

/**
 * `new Date(ms).toISOString()`, with the part up to the second formatted once per second:
 * a line has two timestamps, and toISOString cost more than the rest of the line.
 */
export function timestamp(ms: number): string {
  if (!(ms >= 0 && ms < endOfFourDigitYears)) return new Date(ms).toISOString();
  const second = Math.floor(ms / 1000);
  if (second !== formattedSecond) {
    formattedSecond = second;
    formattedPrefix = new Date(second * 1000).toISOString().slice(0, 20);
  }
  const millis = ms - second * 1000;
  return `${formattedPrefix}${millis < 10 ? '00' : millis < 100 ? '0' : ''}${millis}Z`;
}

export interface AuditLogOptions {
  /** Annotations on every line, e.g. the connector's destination. */
  annotations?: Record<string, string>;
  /** Where lines go instead of stdout (tests read them there). */
  destination?: { write(line: string): unknown };
}

/**
 * An audit log to stdout, through the writer the program's log lines take, so the two stay
 * in order (stdout-lines.ts: a round's lines leave in one write, the pending ones on exit).
 * It writes whatever the program's log level: the audit trail is not a debugging aid to turn down.
 */
export function createAuditLog(component: string, { annotations, destination = stdoutLines() }: AuditLogOptions = {}): AuditLog {
  const programAnnotations = annotations ? (redactSecrets(annotations, 0) as Record<string, string>) : undefined;
  // Serialized once for every line that brings no annotations of its own.
  const programOnlyAnnotations = JSON.stringify(annotationsOf(component, undefined, programAnnotations));
  return {
    record(record) {
      const auditID = record.auditID ?? randomUUID();
      const annotations = record.annotations ? JSON.stringify(annotationsOf(component, record.annotations, programAnnotations)) : programOnlyAnnotations;
      destination.write(auditLine(record, auditID, annotations, Date.now()));
      return auditID;
    },
  };
}

/** True for a parsed stdout line that is an audit Event rather than a log line. */
export function isAuditEvent(line: unknown): line is AuditEvent {
  const value = line as Partial<AuditEvent> | null;
  return typeof value === 'object' && value !== null && value.kind === 'Event' && value.apiVersion === 'audit.k8s.io/v1';
}
