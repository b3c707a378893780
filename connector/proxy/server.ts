// The connector's authenticating proxy: the only way users reach a spoke's API server.
//
// It establishes who the caller is and nothing else: it verifies the Infra token (an
// ES256 JWT for this destination), refuses any impersonation header a client sends, drops
// the client's credentials and forwarding headers, and forwards the request with the
// connector's own credentials plus `Impersonate-User: <sub>` and one `Impersonate-Group`
// per group. RBAC in the spoke decides what that user may do.
//
// This module assembles the proxy and serves it: each request is admitted (admission.ts),
// its headers rewritten (headers.ts), and forwarded (forward.ts) to the API server
// (upstream.ts). It holds what the proxy answers itself (a Kubernetes Status for every
// refusal), its metrics, and when each request's audit line is written (audit.ts).
import { randomUUID } from 'node:crypto';
import { createServer as createHttpsServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { JWTVerifyGetKey } from 'jose';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { AuditLog } from '../../lib/audit.ts';
import type { Logger } from '../../lib/log.ts';
import { createAdmission, type Refusal } from './admission.ts';
import { auditProxiedRequest, clientClosedRequest, type ProxiedRequest } from './audit.ts';
import { createForwarding, writeRawResponse } from './forward.ts';
import { upstreamHeaders, type RequestHeaders } from './headers.ts';
import type { KeySet } from './key-set.ts';
import { createUpstream, type UpstreamOptions } from './upstream.ts';

export interface ProxyOptions {
  /** This destination's name: the `aud` every accepted token must carry. */
  destination: string;
  /** The operator's URL: the `iss` every accepted token must carry. */
  issuer: string;
  /** The operator's keys: a KeySet (a JwksCache, or the proxy thread's copy), or any jose key resolver. */
  keys: KeySet | JWTVerifyGetKey;
  upstream: UpstreamOptions;
  logger: Logger;
  /** Where each request's audit line goes. */
  audit: AuditLog;
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
const upgradeBodyStatus = status(400, 'BadRequest', 'an upgrade request cannot have a body');

/** The answer to each refusal of admission. */
const refusalStatus: Record<Refusal, Status> = {
  impersonation_header: impersonationStatus,
  bad_target: badRequestStatus,
  unauthenticated: unauthorizedStatus,
  keys_unavailable: keysUnavailableStatus,
};

interface Status {
  code: number;
  body: string;
}

function status(code: number, reason: string, message: string): Status {
  return { code, body: JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code }) };
}

export function createProxy(options: ProxyOptions): Proxy {
  const { logger, audit } = options;
  const clockToleranceSec = options.clockToleranceSec ?? 30;
  const upstream = createUpstream(options.upstream, options.upstreamConnectTimeoutMs ?? 10_000);

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

  const admit = createAdmission({ destination: options.destination, issuer: options.issuer, keys: options.keys, clockToleranceSec, logger, failures });
  const forwarding = createForwarding({ upstream, logger, activeUpgrades });

  /** What the audit line will say of a request, filled in as it is admitted. */
  function proxied(req: IncomingMessage): ProxiedRequest {
    return { req, auditID: randomUUID(), received: new Date() };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const audited = proxied(req);
    // Every request, whatever became of it: refused, answered, failed, or left by its client.
    res.once('close', () => auditProxiedRequest(audit, audited, res.headersSent ? res.statusCode : clientClosedRequest));
    const answer = (s: Status) => {
      recordAnswer('request', s.code, started);
      req.resume(); // discard any body
      res.writeHead(s.code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(s.body), 'cache-control': 'no-store' }).end(s.body);
    };

    const admitted = await admit(req, 'request');
    if ('refused' in admitted) return answer(refusalStatus[admitted.refused]);
    audited.identity = admitted;
    let headers: RequestHeaders;
    try {
      headers = upstreamHeaders(req.rawHeaders, admitted, upstream.host, await upstream.token());
    } catch (error) {
      logger.error({ err: (error as Error).message }, 'could not get the connector credentials for the API server');
      return answer(upstreamUnavailableStatus);
    }
    // admit() has refused every Impersonate-* header already: never reached, and never forwarded either way.
    if ('refused' in headers) return answer(impersonationStatus);
    // The API server adopts it as its own auditID, replacing any the client sent.
    headers.headers['audit-id'] = audited.auditID;
    forwarding.request(req, res, headers.headers, {
      user: admitted.user,
      answered: (code) => recordAnswer('request', code, started),
      unreachable: () => answer(upstreamUnavailableStatus),
    });
  }

  async function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const started = performance.now();
    const audited = proxied(req);
    let answeredCode: number | undefined;
    const answered = (code: number) => {
      answeredCode = code;
      recordAnswer('upgrade', code, started);
    };
    socket.on('error', () => socket.destroy());
    // Written when the connection ends: an exec session or a port-forward is complete only then.
    socket.once('close', () => auditProxiedRequest(audit, audited, answeredCode ?? clientClosedRequest));
    const answer = (s: Status) => {
      answered(s.code);
      writeRawResponse(socket, s.code, { 'content-type': 'application/json', 'cache-control': 'no-store' }, Buffer.from(s.body));
    };

    const admitted = await admit(req, 'upgrade');
    if ('refused' in admitted) return answer(refusalStatus[admitted.refused]);
    audited.identity = admitted;
    // An upgrade request carries no body: what follows its headers belongs to the new
    // protocol. The request is sent with `Content-Length: 0` (never chunked, whose final
    // empty chunk the API server would read as the first bytes of the stream).
    const contentLength = req.headers['content-length'];
    if ((contentLength !== undefined && contentLength !== '0') || req.headers['transfer-encoding'] !== undefined) {
      return answer(upgradeBodyStatus);
    }
    let headers: RequestHeaders;
    try {
      headers = upstreamHeaders(req.rawHeaders, admitted, upstream.host, await upstream.token(), req.headers.upgrade ?? '');
    } catch (error) {
      logger.error({ err: (error as Error).message }, 'could not get the connector credentials for the API server');
      return answer(upstreamUnavailableStatus);
    }
    if ('refused' in headers) return answer(impersonationStatus);
    if (req.method !== 'GET' && req.method !== 'HEAD') headers.headers['content-length'] = '0';
    headers.headers['audit-id'] = audited.auditID;
    forwarding.upgrade(req, socket, head, headers.headers, { user: admitted.user, answered, unreachable: () => answer(upstreamUnavailableStatus) });
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
      return forwarding.activeUpgrades;
    },
    close() {
      forwarding.close();
      upstream.close();
    },
  };
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
