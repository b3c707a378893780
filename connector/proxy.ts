// The connector's authenticating proxy: the only way users reach a spoke's API server.
//
// It establishes who the caller is and nothing else: it verifies the Infra token (an
// ES256 JWT for this destination), refuses any impersonation header a client sends, drops
// the client's credentials and forwarding headers, and forwards the request with the
// connector's own credentials plus `Impersonate-User: <sub>` and one `Impersonate-Group`
// per group. RBAC in the spoke decides what that user may do.
//
// Built on node:http/https rather than http-proxy-middleware. HPM 4's engine (httpxy)
// destroys every upgrade that is not `GET` + `Upgrade: websocket`
// (ws-incoming.ts checkMethodAndHeader), so `kubectl exec/attach/port-forward/cp` over
// SPDY (`POST`, `Upgrade: SPDY/3.1`, still kubectl's fallback and the only protocol of
// older clients) could not pass; the upgrade path had to be written by hand anyway.
// Writing the plain path by hand as well keeps the security-critical header rewrite in one
// function used by both paths, and the streaming behaviour (flush headers at once, pipe
// chunks as they come, no compression, no idle timeouts) explicit.
import { createServer as createHttpsServer, request as httpsRequest, Agent, type Server } from 'node:https';
import { STATUS_CODES, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Socket, AddressInfo } from 'node:net';
import { createSecureContext, type TLSSocket } from 'node:tls';
import type { KubeConfig } from '@kubernetes/client-node';
import { errors, type JWTVerifyGetKey } from 'jose';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Logger } from '../lib/log.ts';
import { verifyToken } from '../api/tokens.ts';
import { JwksCache, KeysUnavailableError } from './jwks.ts';
import { VerifiedTokenCache } from './token-cache.ts';

export interface UpstreamOptions {
  /** The spoke kube-apiserver, e.g. https://kubernetes.default.svc */
  server: string;
  /** PEM bundle for the API server's serving certificate; the system CAs when absent. */
  ca?: string | Buffer;
  /** The connector's client certificate and key (PEM), presented on every upstream connection. */
  cert?: string | Buffer;
  key?: string | Buffer;
  /** The connector's bearer token, or a function returning the current one (a rotating service account token). */
  token?: string | (() => string | Promise<string>);
  /** TLS server name to verify, when it differs from the host in `server`. */
  servername?: string;
}

export interface ProxyOptions {
  /** This destination's name: the `aud` every accepted token must carry. */
  destination: string;
  /** The operator's URL: the `iss` every accepted token must carry. */
  issuer: string;
  /** The operator's keys: a JwksCache, or any jose key resolver. */
  keys: JwksCache | JWTVerifyGetKey;
  upstream: UpstreamOptions;
  logger: Logger;
  /** Metrics are registered here; a private registry when absent. */
  registry?: Registry;
  /** Clock skew allowed on exp / nbf / iat; default 30 s. */
  clockToleranceSec?: number;
  /** How long to wait for the upstream TCP + TLS handshake; default 10 s. */
  upstreamConnectTimeoutMs?: number;
}

export interface Proxy {
  /** The request listener (for an https.Server, or express). */
  handler: (req: IncomingMessage, res: ServerResponse) => void;
  /** The server's 'upgrade' listener: exec, attach, port-forward. */
  upgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  /** Upgraded connections open now. */
  readonly activeUpgrades: number;
  /** Ends every upgraded connection and the upstream connection pool. */
  close(): void;
}

export interface ProxyServerOptions extends ProxyOptions {
  /** The proxy's serving certificate and key (PEM), from the connector's own CA. */
  tls: { cert: string | Buffer; key: string | Buffer };
}

export interface ProxyServer {
  server: Server;
  proxy: Proxy;
  /** Listens (port 0 picks a free port) and resolves with the bound address. */
  listen(port: number, host?: string): Promise<AddressInfo>;
  /** Stops accepting, ends every connection (upgraded ones too) and waits for the server to close. */
  close(): Promise<void>;
}

/** The one answer to every token problem: the caller learns nothing about why. */
const unauthorizedStatus = status(401, 'Unauthorized', 'authentication failed');
const impersonationStatus = status(
  403,
  'Forbidden',
  'impersonation headers are not accepted: Infra sets your user and groups from your token (remove --as / --as-group / --as-uid)',
);
const keysUnavailableStatus = status(503, 'ServiceUnavailable', 'the connector has not loaded the signing keys from the Infra hub yet; try again shortly');
const upstreamUnavailableStatus = status(502, 'ServiceUnavailable', "the connector could not reach this cluster's API server");
const badRequestStatus = status(400, 'BadRequest', 'the request target must be a path');

interface Status {
  code: number;
  body: string;
}

function status(code: number, reason: string, message: string): Status {
  return { code, body: JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code }) };
}

// ---- Headers ----------------------------------------------------------------------------
//
// Read straight from rawHeaders (name, value, name, value…, as sent): Node's `headers` and
// `headersDistinct` objects are built on first use, and building them for the request and
// the response, then copying them, was the largest part of the proxy's own CPU per request
// (bench/README.md). A few short scans of the array cost less than one of those objects.

/** Header names are compared lowercased, with `_` read as `-`, as some servers and proxies do. */
function normalizedName(name: string): string {
  return dashed(name.toLowerCase());
}

/** A lowercased header name with `_` as `-`. */
function dashed(lower: string): string {
  return lower.includes('_') ? lower.replaceAll('_', '-') : lower;
}

/** True when the client sent any `Impersonate-*` header (User, Group, Uid, Extra-*), in any case. */
function hasImpersonationHeader(rawHeaders: readonly string[]): boolean {
  for (let i = 0; i < rawHeaders.length; i += 2) if (normalizedName(rawHeaders[i]!).startsWith('impersonate-')) return true;
  return false;
}

/** The first value of a header (lowercase `name`), as Node's `headers` keeps for Authorization. */
function firstHeader(rawHeaders: readonly string[], name: string): string | undefined {
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) if (rawHeaders[i]!.toLowerCase() === name) return rawHeaders[i + 1];
  return undefined;
}

/** The tokens of every Connection header, lowercased: headers the sender means for this hop only. */
function connectionTokens(rawHeaders: readonly string[]): string[] {
  const tokens: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.toLowerCase() !== 'connection') continue;
    for (const token of rawHeaders[i + 1]!.split(',')) {
      const name = normalizedName(token.trim());
      if (name !== '') tokens.push(name);
    }
  }
  return tokens;
}

/** Adds a header line to `out`: a second line with the same name makes the value a list, kept in order. */
function addHeader(out: OutgoingHttpHeaders, name: string, value: string): void {
  const previous = out[name];
  if (previous === undefined) out[name] = value;
  else if (Array.isArray(previous)) previous.push(value);
  else out[name] = [String(previous), value];
}

const hopByHop = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

/**
 * Request headers never forwarded: hop-by-hop ones, the client's credentials and anything
 * that claims an identity or an origin. `lower`: the name lowercased.
 */
function droppedRequestHeader(lower: string, hopTokens: readonly string[]): boolean {
  const n = dashed(lower);
  return (
    hopByHop.has(n) ||
    hopTokens.includes(n) ||
    n === 'host' ||
    n === 'expect' ||
    n === 'authorization' ||
    n === 'forwarded' ||
    n === 'x-real-ip' ||
    n.startsWith('x-forwarded-') ||
    n.startsWith('x-remote-') || // the API server's request-header authentication
    n.startsWith('impersonate-')
  );
}

/** The kube-apiserver also authenticates websockets by a bearer token sent as a subprotocol: never forward one. */
const websocketTokenProtocol = 'base64url.bearer.authorization.k8s.io.';

export interface Identity {
  user: string;
  groups: string[];
}

/**
 * The headers sent upstream: the client's, minus everything droppedRequestHeader names,
 * plus exactly one Impersonate-User and one Impersonate-Group per group, the connector's
 * own Authorization when it uses a token, and for an upgrade (`upgrade`: the client's
 * Upgrade header) `Connection: Upgrade` with that Upgrade.
 */
function upstreamHeaders(rawHeaders: readonly string[], identity: Identity, upstreamHost: string, token: string | undefined, upgrade?: string): OutgoingHttpHeaders {
  const hopTokens = connectionTokens(rawHeaders);
  const out: OutgoingHttpHeaders = {};
  const protocols: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    if (droppedRequestHeader(name, hopTokens)) continue;
    const value = rawHeaders[i + 1]!;
    if (name === 'sec-websocket-protocol') {
      for (const protocol of value.split(',')) {
        const p = protocol.trim();
        if (p !== '' && !p.startsWith(websocketTokenProtocol)) protocols.push(p);
      }
      continue;
    }
    addHeader(out, name, value);
  }
  if (protocols.length > 0) out['sec-websocket-protocol'] = protocols.join(', ');
  out.host = upstreamHost;
  if (token !== undefined) out.authorization = `Bearer ${token}`;
  out['impersonate-user'] = headerValue(identity.user);
  if (identity.groups.length > 0) out['impersonate-group'] = identity.groups.map(headerValue);
  if (upgrade !== undefined) {
    out.connection = 'Upgrade';
    out.upgrade = upgrade;
  }
  return out;
}

/**
 * Node writes header strings as latin1, one byte per character; the API server reads the
 * bytes as UTF-8. Encoding first makes a name like "Zoë" arrive as itself.
 */
function headerValue(value: string): string {
  return Buffer.from(value, 'utf8').toString('latin1');
}

/** Response headers from upstream, without hop-by-hop ones (Node frames the body itself). */
function downstreamHeaders(rawHeaders: readonly string[]): OutgoingHttpHeaders {
  const hopTokens = connectionTokens(rawHeaders);
  const out: OutgoingHttpHeaders = {};
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    if (hopByHop.has(name) || hopTokens.includes(dashed(name))) continue;
    addHeader(out, name, rawHeaders[i + 1]!);
  }
  return out;
}

// ---- Tokens -----------------------------------------------------------------------------

/** Why a request was refused; a metrics label and a debug log field, never shown to the caller. */
export type FailureReason =
  | 'missing_token'
  | 'malformed'
  | 'algorithm'
  | 'signature'
  | 'unknown_key'
  | 'expired'
  | 'not_yet_valid'
  | 'issuer'
  | 'audience'
  | 'claims'
  | 'reserved_subject'
  | 'keys_unavailable';

class AuthenticationError extends Error {
  readonly reason: FailureReason;
  constructor(reason: FailureReason, message: string) {
    super(message);
    this.reason = reason;
  }
}

function bearerToken(req: IncomingMessage): string | undefined {
  const match = /^Bearer[ \t]+([A-Za-z0-9._~+/=-]+)[ \t]*$/i.exec(firstHeader(req.rawHeaders, 'authorization') ?? '');
  return match?.[1];
}

function failureReason(error: unknown): FailureReason {
  if (error instanceof AuthenticationError) return error.reason;
  if (error instanceof KeysUnavailableError) return 'keys_unavailable';
  if (error instanceof errors.JWTExpired) return 'expired';
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'iss') return 'issuer';
    if (error.claim === 'aud') return 'audience';
    if (error.claim === 'nbf' || error.claim === 'iat') return 'not_yet_valid';
    return 'claims';
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return 'algorithm';
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'signature';
  if (error instanceof errors.JWKSNoMatchingKey) return 'unknown_key';
  if (error instanceof errors.JOSEError) return 'malformed';
  return 'claims'; // verifyToken's own checks: subject, jti, groups, lifetime
}

// A header value the API server would read differently from what the token says.
const controlCharacters = /[\u0000-\u001f\u007f]/;

// ---- The proxy --------------------------------------------------------------------------

export function createProxy(options: ProxyOptions): Proxy {
  const { logger, destination, issuer } = options;
  const keySet = options.keys instanceof JwksCache ? options.keys : undefined;
  const getKey: JWTVerifyGetKey = keySet ? keySet.getKey : (options.keys as JWTVerifyGetKey);
  const clockToleranceSec = options.clockToleranceSec ?? 30;
  // Only a JwksCache says when its keys change: with any other resolver, every token is verified every time.
  const verified = keySet ? new VerifiedTokenCache<Identity>({ clockToleranceSec }) : undefined;
  const connectTimeoutMs = options.upstreamConnectTimeoutMs ?? 10_000;
  const upstreamUrl = new URL(options.upstream.server);
  if (upstreamUrl.protocol !== 'https:') throw new Error(`the upstream API server must be https: ${options.upstream.server}`);
  const upstreamHost = upstreamUrl.host;
  const upstreamHostname = upstreamUrl.hostname.replace(/^\[|\]$/g, '');
  const basePath = upstreamUrl.pathname.replace(/\/+$/, '');
  const { ca, cert, key, servername } = options.upstream;
  // Keep-alive pool for ordinary requests; an upgraded socket leaves the pool for good.
  // The TLS context is built once. Given ca, cert and key instead, https.Agent would turn
  // the PEMs into its pool key on every request (decoded, concatenated and hashed: 14 µs,
  // ~4% of the proxy's CPU per request) and parse them again for every new connection.
  const agent = new Agent({ keepAlive: true, secureContext: createSecureContext({ ca, cert, key }), servername, rejectUnauthorized: true });
  /** Upgraded connections: the client's socket and the API server's. */
  const tunnels = new Map<Duplex, Duplex>();

  const registry = options.registry ?? new Registry();
  const requests = new Counter({
    name: 'infra_connector_proxy_requests_total',
    help: 'Requests through the proxy by type (request, upgrade) and the status code answered (101 for an upgrade that switched protocols).',
    labelNames: ['type', 'code'],
    registers: [registry],
  });
  const failures = new Counter({
    name: 'infra_connector_proxy_authentication_failures_total',
    help: 'Requests refused before reaching the API server, by reason (token problems answer 401, impersonation headers 403).',
    labelNames: ['reason'],
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'infra_connector_proxy_response_latency_seconds',
    help: "Time to the response headers (the API server's, or the proxy's refusal), by type; a watch or an exec session counts until it starts, not until it ends.",
    labelNames: ['type'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const activeUpgrades = new Gauge({
    name: 'infra_connector_proxy_active_upgrades',
    help: 'Upgraded connections (exec, attach, port-forward) open now.',
    registers: [registry],
  });
  // Label children looked up once, not hashed from a labels object on every request.
  const answerMetrics = {
    request: { latency: latency.labels({ type: 'request' }), byCode: new Map<number, Counter.Internal>() },
    upgrade: { latency: latency.labels({ type: 'upgrade' }), byCode: new Map<number, Counter.Internal>() },
  };

  /** Counts an answer by type and status code and observes the time to it. */
  function recordAnswer(type: 'request' | 'upgrade', code: number, started: number): void {
    const metrics = answerMetrics[type];
    let counter = metrics.byCode.get(code);
    if (counter === undefined) metrics.byCode.set(code, (counter = requests.labels({ type, code })));
    counter.inc();
    metrics.latency.observe((performance.now() - started) / 1000);
  }

  async function connectorToken(): Promise<string | undefined> {
    const token = options.upstream.token;
    return typeof token === 'function' ? await token() : token;
  }

  /** Verifies the caller's token; throws AuthenticationError (or a jose error) on any problem. */
  async function authenticate(req: IncomingMessage): Promise<Identity> {
    const token = bearerToken(req);
    if (!token) throw new AuthenticationError('missing_token', 'no bearer token');
    const keySetVersion = keySet?.version ?? 0;
    const cached = verified?.get(token, keySetVersion);
    if (cached) return cached;
    const claims = await verifyToken(token, { jwks: getKey, issuer, audience: destination, clockToleranceSec });
    const user = claims.subject;
    // The API server treats system: names as its own (system:masters is cluster-admin);
    // no token may claim one, whatever the hub or an identity provider put in it.
    if (user.startsWith('system:')) throw new AuthenticationError('reserved_subject', 'subject is a reserved system: name');
    if (controlCharacters.test(user)) throw new AuthenticationError('claims', 'subject has control characters');
    const groups: string[] = [];
    for (const group of new Set(claims.groups)) {
      if (group === '' || group.startsWith('system:')) {
        logger.warn({ user, group }, 'ignored a reserved or empty group in a token');
        continue;
      }
      if (controlCharacters.test(group)) throw new AuthenticationError('claims', 'a group has control characters');
      groups.push(group);
    }
    const identity = { user, groups };
    verified?.set(token, keySetVersion, claims.expiresAt.getTime() / 1000, identity);
    return identity;
  }

  /** Checks done before anything is sent upstream: a Status to answer, or the identity to forward as. */
  async function admit(req: IncomingMessage, type: 'request' | 'upgrade'): Promise<Status | Identity> {
    // Before anything else: a client never chooses who it is.
    if (hasImpersonationHeader(req.rawHeaders)) {
      failures.inc({ reason: 'impersonation_header' });
      logger.debug({ type, method: req.method, path: pathOf(req) }, 'refused: the client sent an impersonation header');
      return impersonationStatus;
    }
    if (!req.url?.startsWith('/')) return badRequestStatus;
    try {
      return await authenticate(req);
    } catch (error) {
      const reason = failureReason(error);
      failures.inc({ reason });
      // The token itself is never logged; jose's messages name the claim, not its value.
      logger.debug({ type, method: req.method, path: pathOf(req), reason, err: (error as Error).message }, 'refused: authentication failed');
      return reason === 'keys_unavailable' ? keysUnavailableStatus : unauthorizedStatus;
    }
  }

  function upstreamRequest(req: IncomingMessage, headers: OutgoingHttpHeaders) {
    const proxyReq = httpsRequest({
      protocol: 'https:',
      hostname: upstreamHostname,
      port: upstreamUrl.port || 443,
      method: req.method,
      path: basePath + req.url,
      headers,
      agent,
    });
    proxyReq.on('socket', (socket: Socket) => {
      if (!socket.pending && !socket.connecting) return; // a kept-alive connection
      const timer = setTimeout(() => proxyReq.destroy(new Error(`connecting to the API server took more than ${connectTimeoutMs} ms`)), connectTimeoutMs);
      socket.once('secureConnect', () => clearTimeout(timer));
      socket.once('close', () => clearTimeout(timer));
    });
    return proxyReq;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const answer = (s: Status) => {
      recordAnswer('request', s.code, started);
      req.resume(); // discard any body
      res.writeHead(s.code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(s.body), 'cache-control': 'no-store' }).end(s.body);
    };

    const admitted = await admit(req, 'request');
    if ('code' in admitted) return answer(admitted);
    let headers: OutgoingHttpHeaders;
    try {
      headers = upstreamHeaders(req.rawHeaders, admitted, upstreamHost, await connectorToken());
    } catch (error) {
      logger.error({ err: (error as Error).message }, 'could not get the connector credentials for the API server');
      return answer(upstreamUnavailableStatus);
    }

    const proxyReq = upstreamRequest(req, headers);
    // The client went away (a watch ended with Ctrl-C): end the upstream request too.
    res.on('close', () => {
      if (!res.writableFinished) proxyReq.destroy();
    });
    proxyReq.on('error', (error) => {
      if (res.destroyed) return;
      if (res.headersSent) {
        res.destroy();
        return;
      }
      logger.warn({ err: error.message, method: req.method, path: pathOf(req) }, 'the API server request failed');
      answer(upstreamUnavailableStatus);
    });
    proxyReq.on('response', (proxyRes) => {
      recordAnswer('request', proxyRes.statusCode ?? 0, started);
      // Checked first: the line's fields cost a little on every request even when it is not written.
      if (logger.isLevelEnabled('debug')) logger.debug({ method: req.method, path: pathOf(req), user: admitted.user, status: proxyRes.statusCode }, 'proxied');
      const headers = downstreamHeaders(proxyRes.rawHeaders);
      res.writeHead(proxyRes.statusCode ?? 502, proxyRes.statusMessage, headers);
      // A watch or `logs -f` (chunked, no length) may not send a byte for minutes: the
      // client needs the headers now. A body of known length follows at once: its first
      // chunk carries the headers, one write instead of two.
      if (headers['content-length'] === undefined) res.flushHeaders();
      proxyRes.on('error', () => res.destroy());
      // Each chunk is written as it arrives: no buffering, no compression.
      proxyRes.pipe(res);
    });
    req.pipe(proxyReq);
  }

  async function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const started = performance.now();
    socket.on('error', () => socket.destroy());
    const answer = (s: Status) => {
      recordAnswer('upgrade', s.code, started);
      writeRawResponse(socket, s.code, { 'content-type': 'application/json', 'cache-control': 'no-store' }, Buffer.from(s.body));
    };

    const admitted = await admit(req, 'upgrade');
    if ('code' in admitted) return answer(admitted);
    // An upgrade request carries no body: what follows its headers belongs to the new
    // protocol. The request is sent with `Content-Length: 0` (never chunked, whose final
    // empty chunk the API server would read as the first bytes of the stream).
    const contentLength = req.headers['content-length'];
    if ((contentLength !== undefined && contentLength !== '0') || req.headers['transfer-encoding'] !== undefined) {
      return answer(status(400, 'BadRequest', 'an upgrade request cannot have a body'));
    }
    let headers: OutgoingHttpHeaders;
    try {
      headers = upstreamHeaders(req.rawHeaders, admitted, upstreamHost, await connectorToken(), req.headers.upgrade ?? '');
    } catch (error) {
      logger.error({ err: (error as Error).message }, 'could not get the connector credentials for the API server');
      return answer(upstreamUnavailableStatus);
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') headers['content-length'] = '0';

    const proxyReq = upstreamRequest(req, headers);
    const onClientGone = () => proxyReq.destroy();
    socket.once('close', onClientGone);
    proxyReq.on('error', (error) => {
      logger.warn({ err: error.message, method: req.method, path: pathOf(req) }, 'the API server upgrade request failed');
      if (!socket.destroyed) answer(upstreamUnavailableStatus);
    });
    // The API server refused or failed the request (403 from RBAC, 400 for a pod with no
    // node...), or answered without switching protocols: relay its answer as it streams,
    // delimited by closing the connection (the socket has left Node's HTTP framing).
    proxyReq.on('response', (proxyRes) => {
      socket.removeListener('close', onClientGone);
      recordAnswer('upgrade', proxyRes.statusCode ?? 0, started);
      logger.debug({ method: req.method, path: pathOf(req), user: admitted.user, status: proxyRes.statusCode }, 'upgrade answered without switching protocols');
      if (socket.destroyed) {
        proxyRes.destroy();
        return;
      }
      socket.write(responseHead(proxyRes.statusCode ?? 502, { ...downstreamHeaders(proxyRes.rawHeaders), connection: 'close' }));
      socket.on('close', () => proxyRes.destroy());
      proxyRes.on('error', () => socket.destroy());
      proxyRes.pipe(socket);
    });
    proxyReq.on('upgrade', (proxyRes, upstreamSocket, upstreamHead) => {
      socket.removeListener('close', onClientGone);
      recordAnswer('upgrade', 101, started);
      logger.debug({ method: req.method, path: pathOf(req), user: admitted.user, protocol: proxyRes.headers.upgrade }, 'upgraded');
      if (socket.destroyed) {
        upstreamSocket.destroy();
        return;
      }
      // The 101 exactly as the API server sent it (the negotiated Upgrade,
      // X-Stream-Protocol-Version, Sec-WebSocket-Accept/-Protocol), then raw bytes both ways.
      const lines = [`HTTP/1.1 101 ${proxyRes.statusMessage || 'Switching Protocols'}`];
      for (let i = 0; i + 1 < proxyRes.rawHeaders.length; i += 2) lines.push(`${proxyRes.rawHeaders[i]}: ${proxyRes.rawHeaders[i + 1]}`);
      socket.write(lines.join('\r\n') + '\r\n\r\n');
      if (upstreamHead.length > 0) socket.write(upstreamHead);
      if (head.length > 0) upstreamSocket.write(head);
      tunnel(socket, upstreamSocket);
    });
    proxyReq.end();
  }

  function tunnel(client: Duplex, upstream: Duplex): void {
    // An exec session or a port-forward may be idle for hours; neither side times out here.
    for (const s of [client, upstream] as Array<Duplex & Partial<Socket>>) {
      s.setTimeout?.(0);
      s.setNoDelay?.(true);
      s.setKeepAlive?.(true, 30_000);
    }
    tunnels.set(client, upstream);
    activeUpgrades.inc();
    let open = true;
    const finish = () => {
      if (!open) return;
      open = false;
      tunnels.delete(client);
      activeUpgrades.dec();
    };
    // An error on either side ends both at once; a clean close of one side ends the other
    // gracefully (pipe() has already called end() on it), so buffered bytes still get out.
    const fail = () => {
      finish();
      client.destroy();
      upstream.destroy();
    };
    const closed = (other: Duplex) => () => {
      finish();
      if (!other.destroyed) {
        other.end();
        setTimeout(() => other.destroy(), 5_000).unref();
      }
    };
    client.on('error', fail);
    upstream.on('error', fail);
    client.on('close', closed(upstream));
    upstream.on('close', closed(client));
    client.pipe(upstream);
    upstream.pipe(client);
  }

  return {
    handler(req, res) {
      handle(req, res).catch((error: unknown) => {
        logger.error({ err: (error as Error).message }, 'proxy request failed');
        if (!res.headersSent) res.writeHead(500).end();
        else res.destroy();
      });
    },
    upgrade(req, socket, head) {
      handleUpgrade(req, socket, head).catch((error: unknown) => {
        logger.error({ err: (error as Error).message }, 'proxy upgrade failed');
        socket.destroy();
      });
    },
    get activeUpgrades() {
      return tunnels.size;
    },
    close() {
      for (const [client, upstream] of tunnels) {
        client.destroy();
        upstream.destroy();
      }
      agent.destroy();
    },
  };
}

function pathOf(req: IncomingMessage): string {
  // The path only: a query may carry anything (label selectors, exec commands).
  return (req.url ?? '').split('?')[0]!;
}

/** The status line and headers of an HTTP/1.1 response, for a socket that has left Node's HTTP machinery. */
function responseHead(code: number, headers: OutgoingHttpHeaders): string {
  const lines = [`HTTP/1.1 ${code} ${STATUS_CODES[code] ?? ''}`];
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) lines.push(`${name}: ${v}`);
  }
  return lines.join('\r\n') + '\r\n\r\n';
}

/** One of the proxy's own answers on such a socket, then the socket is closed. */
function writeRawResponse(socket: Duplex, code: number, headers: OutgoingHttpHeaders, body: Buffer): void {
  if (socket.destroyed) return;
  const head = responseHead(code, { ...headers, 'content-length': body.length, connection: 'close' });
  socket.end(Buffer.concat([Buffer.from(head, 'latin1'), body]));
}

/**
 * The connector's upstream credentials from a kubeconfig (in-cluster, or a file): the API
 * server URL, its CA, a client certificate or a bearer token. A token is re-read from the
 * KubeConfig on every request, so a rotating service account token keeps working.
 * Impersonation set in the kubeconfig is ignored; disabled TLS verification is refused.
 */
export async function upstreamFromKubeConfig(kc: KubeConfig): Promise<UpstreamOptions> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig has no current cluster');
  if (cluster.skipTLSVerify) throw new Error('the kubeconfig disables TLS verification of the API server; the connector will not');
  const current = async () => {
    const opts: { ca?: unknown; cert?: unknown; key?: unknown; servername?: string; headers?: Record<string, unknown> } = {};
    await kc.applyToHTTPSOptions(opts);
    return opts;
  };
  const opts = await current();
  const asPem = (value: unknown) => (typeof value === 'string' || Buffer.isBuffer(value) ? value : undefined);
  const bearer = (headers: Record<string, unknown> | undefined) => {
    const value = headers?.Authorization ?? headers?.authorization;
    return typeof value === 'string' && /^Bearer /i.test(value) ? value.slice(7).trim() : undefined;
  };
  const upstream: UpstreamOptions = { server: cluster.server, ca: asPem(opts.ca), cert: asPem(opts.cert), key: asPem(opts.key) };
  if (opts.servername) upstream.servername = opts.servername;
  if (bearer(opts.headers) !== undefined) {
    // Re-read at most every 10 s: client-node reads the CA and token files on every call.
    let cached: { token: string; at: number } | undefined;
    upstream.token = async () => {
      if (cached && Date.now() - cached.at < 10_000) return cached.token;
      const token = bearer((await current()).headers);
      if (!token) throw new Error('the kubeconfig no longer yields a bearer token');
      cached = { token, at: Date.now() };
      return token;
    };
  }
  if (!upstream.token && !(upstream.cert && upstream.key)) throw new Error('the kubeconfig has neither a client certificate nor a bearer token for the connector');
  return upstream;
}

/** An HTTPS server (HTTP/1.1: upgrades need it) running the proxy. */
export function createProxyServer(options: ProxyServerOptions): ProxyServer {
  const proxy = createProxy(options);
  const server = createHttpsServer(
    {
      cert: options.tls.cert,
      key: options.tls.key,
      minVersion: 'TLSv1.2',
      ALPNProtocols: ['http/1.1'],
      // Headers must arrive promptly; a response (a watch) may take as long as it likes.
      headersTimeout: 60_000,
      requestTimeout: 5 * 60_000,
      keepAliveTimeout: 65_000,
    },
    proxy.handler,
  );
  server.on('upgrade', proxy.upgrade);
  server.on('tlsClientError', (error: Error, socket: TLSSocket) => {
    options.logger.debug({ err: error.message, remote: socket.remoteAddress }, 'TLS handshake with a client failed');
  });
  return {
    server,
    proxy,
    listen(port, host) {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve(server.address() as AddressInfo);
        });
      });
    },
    close() {
      return new Promise((resolve) => {
        if (!server.listening) {
          proxy.close();
          resolve();
          return;
        }
        server.close(() => resolve());
        proxy.close();
        server.closeAllConnections();
      });
    },
  };
}
