// The auth API client: POST <server>/apis/auth.infrahq.com/v1alpha1/<plural> over HTTPS,
// trusting the server through its CA (--ca-file), a pinned certificate fingerprint, or
// the system's CAs. The TLS handshake is checked before a single byte of the request is
// sent, so a password never goes to a server the user did not trust.
import { request } from 'node:https';
import { isIP } from 'node:net';
import { connect, type TLSSocket } from 'node:tls';
import {
  apiVersion,
  kinds,
  type AccessKeySpec,
  type AccessKeyStatus,
  type AccessReviewStatus,
  type DeviceAuthorizationSpec,
  type DeviceAuthorizationStatus,
  type Kind,
  type LoginSpec,
  type LoginStatus,
  type LogoutStatus,
  type PasswordChangeSpec,
  type PasswordChangeStatus,
  type PasswordResetSpec,
  type PasswordResetStatus,
  type TokenRequestSpec,
  type TokenRequestStatus,
} from '../api/auth/v1alpha1/types.ts';
import type { ServerTrust } from './config.ts';
import { ApiStatusError, PinMismatchError, UnreachableError, UntrustedCertificateError } from './errors.ts';
import { chainPin, formatFingerprint, pinnedChainProblem, presentedChain } from './pinning.ts';

export interface SpecOf {
  Login: LoginSpec;
  TokenRequest: TokenRequestSpec;
  AccessReview: Record<string, never>;
  Logout: { all?: boolean };
  AccessKey: AccessKeySpec;
  PasswordReset: PasswordResetSpec;
  PasswordChange: PasswordChangeSpec;
  DeviceAuthorization: DeviceAuthorizationSpec;
}

export interface StatusOf {
  Login: LoginStatus;
  TokenRequest: TokenRequestStatus;
  AccessReview: AccessReviewStatus;
  Logout: LogoutStatus;
  AccessKey: AccessKeyStatus;
  PasswordReset: PasswordResetStatus;
  PasswordChange: PasswordChangeStatus;
  DeviceAuthorization: DeviceAuthorizationStatus;
}

export interface AuthClient {
  readonly server: string;
  create<K extends Kind>(kind: K, spec: SpecOf[K]): Promise<StatusOf[K]>;
}

/** The auth API and the management API of one server. */
export interface InfraClient extends AuthClient {
  /** Any other call on the server (the management API): the parsed JSON answer, or ApiStatusError. */
  request(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown, contentType?: string): Promise<unknown>;
}

export interface ClientOptions {
  server: string;
  trust: ServerTrust;
  /** Session or access key for everything but Login. */
  bearer?: string;
  timeoutMs?: number;
}

const unreachableCodes = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'ECONNRESET', 'EPIPE']);

export function authClient(options: ClientOptions): InfraClient {
  const timeoutMs = options.timeoutMs ?? 15_000;
  const call = async (method: string, path: string, body: unknown, contentType = 'application/json') => {
    const url = new URL(`${options.server}${path}`);
    const socket = await connectTrusted(options.server, url, options.trust, timeoutMs);
    const { status, text } = await send(socket, url, {
      method,
      body: body === undefined ? undefined : JSON.stringify(body),
      contentType,
      bearer: options.bearer,
      timeoutMs,
    }).catch((err: unknown) => {
      throw asUnreachable(options.server, err);
    });
    let parsed: { kind?: string; status?: unknown; message?: string; reason?: string } | undefined;
    try {
      parsed = JSON.parse(text) as typeof parsed;
    } catch {
      parsed = undefined;
    }
    if (parsed?.kind === 'Status' && typeof parsed.message === 'string' && status >= 400) throw new ApiStatusError(status, parsed.reason ?? '', parsed.message);
    return { status, parsed };
  };
  const unexpected = (status: number, what: string) =>
    new ApiStatusError(status, 'Unexpected', `${options.server} answered HTTP ${status} to ${what}, not the Infra API: is the server address right?`);
  return {
    server: options.server,
    async create(kind, spec) {
      const { status, parsed } = await call('POST', `/apis/${apiVersion}/${kinds[kind].plural}`, { apiVersion, kind, spec });
      if (status === 201 && parsed?.status !== undefined) return parsed.status as StatusOf[typeof kind];
      throw unexpected(status, `a ${kind}`);
    },
    async request(method, path, body, contentType) {
      const { status, parsed } = await call(method, path, body, contentType);
      if (status >= 200 && status < 300 && parsed !== undefined) return parsed;
      throw unexpected(status, `${method} ${path}`);
    },
  };
}

/** Connects and checks the server's certificate, sending nothing. */
export async function checkServer(server: string, trust: ServerTrust, timeoutMs = 15_000): Promise<void> {
  const socket = await connectTrusted(server, new URL(server), trust, timeoutMs);
  socket.destroy();
}

function asUnreachable(server: string, err: unknown): Error {
  const code = (err as NodeJS.ErrnoException).code;
  if (code && unreachableCodes.has(code)) return new UnreachableError(server, code);
  if (err instanceof Error && /timed out/.test(err.message)) return new UnreachableError(server, 'timed out');
  return err instanceof Error ? err : new Error(String(err));
}

/** A TLS connection whose peer the trust accepts; UntrustedCertificateError (with the fingerprint) otherwise. */
function connectTrusted(server: string, url: URL, trust: ServerTrust, timeoutMs: number): Promise<TLSSocket> {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = Number(url.port || 443);
  return new Promise((resolve, reject) => {
    const socket = connect({
      host,
      port,
      ...(isIP(host) ? {} : { servername: host }),
      ...(trust.ca ? { ca: trust.ca } : {}),
      ALPNProtocols: ['http/1.1'],
      // Checked below, before any request byte is written: chain and host name
      // (socket.authorized), or, when a CA key is pinned, the chain up to that key.
      rejectUnauthorized: false,
    });
    const timer = setTimeout(() => socket.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })), timeoutMs);
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(asUnreachable(server, err));
    });
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      const chain = presentedChain(socket.getPeerCertificate(true));
      const pinProblem = trust.fingerprint !== undefined ? pinnedChainProblem(chain, trust.fingerprint) : undefined;
      if (trust.fingerprint !== undefined ? pinProblem === undefined : socket.authorized) {
        socket.removeAllListeners('error');
        return resolve(socket);
      }
      socket.destroy();
      if (pinProblem !== undefined) return reject(new PinMismatchError(server, formatFingerprint(trust.fingerprint!), pinProblem));
      reject(new UntrustedCertificateError(server, chainPin(chain), String(socket.authorizationError ?? 'unknown issuer')));
    });
  });
}

interface Outgoing {
  method: string;
  body: string | undefined;
  contentType: string;
  bearer: string | undefined;
  timeoutMs: number;
}

function send(socket: TLSSocket, url: URL, { method, body, contentType, bearer, timeoutMs }: Outgoing): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        createConnection: () => socket, // no agent: this very socket, verified above
        headers: {
          accept: 'application/json',
          ...(body !== undefined ? { 'content-type': contentType, 'content-length': Buffer.byteLength(body) } : {}),
          ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
        },
        timeout: timeoutMs,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    req.end(body);
  });
}
