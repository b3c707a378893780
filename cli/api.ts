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
  type Kind,
  type LoginSpec,
  type LoginStatus,
  type LogoutStatus,
  type TokenRequestSpec,
  type TokenRequestStatus,
} from '../api/auth/v1alpha1/types.ts';
import type { ServerTrust } from './config.ts';
import { ApiStatusError, UnreachableError, UntrustedCertificateError } from './errors.ts';

export interface SpecOf {
  Login: LoginSpec;
  TokenRequest: TokenRequestSpec;
  AccessReview: Record<string, never>;
  Logout: { all?: boolean };
  AccessKey: AccessKeySpec;
}

export interface StatusOf {
  Login: LoginStatus;
  TokenRequest: TokenRequestStatus;
  AccessReview: AccessReviewStatus;
  Logout: LogoutStatus;
  AccessKey: AccessKeyStatus;
}

export interface AuthClient {
  readonly server: string;
  create<K extends Kind>(kind: K, spec: SpecOf[K]): Promise<StatusOf[K]>;
}

export interface ClientOptions {
  server: string;
  trust: ServerTrust;
  /** Session or access key for everything but Login. */
  bearer?: string;
  timeoutMs?: number;
}

const unreachableCodes = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'ECONNRESET', 'EPIPE']);

export function authClient(options: ClientOptions): AuthClient {
  return {
    server: options.server,
    async create(kind, spec) {
      const url = new URL(`${options.server}/apis/${apiVersion}/${kinds[kind].plural}`);
      const body = JSON.stringify({ apiVersion, kind, spec });
      const socket = await connectTrusted(options.server, url, options.trust, options.timeoutMs ?? 15_000);
      const { status, text } = await post(socket, url, body, options.bearer, options.timeoutMs ?? 15_000).catch((err: unknown) => {
        throw asUnreachable(options.server, err);
      });
      let parsed: { kind?: string; status?: unknown; message?: string; reason?: string } | undefined;
      try {
        parsed = JSON.parse(text) as typeof parsed;
      } catch {
        parsed = undefined;
      }
      if (status === 201 && parsed?.status !== undefined) return parsed.status as StatusOf[typeof kind];
      if (parsed?.kind === 'Status' && typeof parsed.message === 'string') throw new ApiStatusError(status, parsed.reason ?? '', parsed.message);
      throw new ApiStatusError(status, 'Unexpected', `${options.server} answered HTTP ${status} to a ${kind}, not the Infra auth API: is the server address right?`);
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
      // (socket.authorized), or the pinned fingerprint.
      rejectUnauthorized: false,
    });
    const timer = setTimeout(() => socket.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })), timeoutMs);
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(asUnreachable(server, err));
    });
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      const fingerprint = socket.getPeerCertificate().fingerprint256 ?? '';
      const pinned = trust.fingerprint !== undefined && sameFingerprint(trust.fingerprint, fingerprint);
      if (socket.authorized || pinned) {
        socket.removeAllListeners('error');
        return resolve(socket);
      }
      socket.destroy();
      const reason = trust.fingerprint !== undefined ? `it does not match the fingerprint trusted for this server, ${formatFingerprint(trust.fingerprint)}` : String(socket.authorizationError ?? 'unknown issuer');
      reject(new UntrustedCertificateError(server, fingerprint, reason));
    });
  });
}

function post(socket: TLSSocket, url: URL, body: string, bearer: string | undefined, timeoutMs: number): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        createConnection: () => socket, // no agent: this very socket, verified above
        headers: {
          'content-type': 'application/json',
          accept: 'application/json',
          'content-length': Buffer.byteLength(body),
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

/** AA:BB:… upper case, from any spelling (colons or not, any case, optional sha256: prefix). */
export function formatFingerprint(text: string): string {
  const hex = text.replace(/^sha256:/i, '').replace(/[^0-9a-f]/gi, '').toUpperCase();
  return hex.match(/.{1,2}/g)?.join(':') ?? '';
}

export function validFingerprint(text: string): boolean {
  return /^[0-9A-F]{64}$/.test(formatFingerprint(text).replaceAll(':', ''));
}

function sameFingerprint(a: string, b: string): boolean {
  return formatFingerprint(a) === formatFingerprint(b) && formatFingerprint(a) !== '';
}
