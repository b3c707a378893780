// The proxy's forwarding, once a request is admitted and its headers rewritten: a request
// and its answer streamed both ways (a watch or `logs -f` as it comes), and an upgrade
// (`kubectl exec/attach/port-forward/cp`) relayed, then turned into a raw tunnel.
//
// Built on node:http/https rather than http-proxy-middleware. HPM 4's engine (httpxy)
// destroys every upgrade that is not `GET` + `Upgrade: websocket`
// (ws-incoming.ts checkMethodAndHeader), so `kubectl exec/attach/port-forward/cp` over
// SPDY (`POST`, `Upgrade: SPDY/3.1`, still kubectl's fallback and the only protocol of
// older clients) could not pass; the upgrade path had to be written by hand anyway.
// Writing the plain path by hand as well keeps the security-critical header rewrite in one
// function used by both paths (headers.ts), and the streaming behaviour (flush headers at
// once, pipe chunks as they come, no compression, no idle timeouts) explicit.
import { STATUS_CODES, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import type { Gauge } from 'prom-client';
import type { Logger } from '../../lib/log.ts';
import { downstreamHeaders, pathOf } from './headers.ts';
import type { Upstream } from './upstream.ts';

export interface ForwardingOptions {
  upstream: Upstream;
  logger: Logger;
  /** Upgraded connections open now. */
  activeUpgrades: Gauge;
}

/**
 * What forwarding is told of one admitted request: who it is forwarded as (for the log),
 * whom to tell the API server's answer (its status code, 101 for a switch: the metrics and
 * the audit line), and how to answer when the API server cannot be reached before the
 * client has been sent anything (the proxy's own 502).
 */
export interface Admitted {
  user: string;
  answered: (code: number) => void;
  unreachable: () => void;
}

export interface Forwarding {
  /** Sends a request upstream with these headers and streams the answer back. */
  request(req: IncomingMessage, res: ServerResponse, headers: OutgoingHttpHeaders, admitted: Admitted): void;
  /** Sends an upgrade request upstream: relays a refusal, or switches protocols and tunnels bytes both ways. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, headers: OutgoingHttpHeaders, admitted: Admitted): void;
  /** Upgraded connections open now. */
  readonly activeUpgrades: number;
  /** Ends every upgraded connection. */
  close(): void;
}

export function createForwarding(options: ForwardingOptions): Forwarding {
  const { upstream, logger, activeUpgrades } = options;
  /** Upgraded connections: the client's socket and the API server's. */
  const tunnels = new Map<Duplex, Duplex>();

  function request(req: IncomingMessage, res: ServerResponse, headers: OutgoingHttpHeaders, admitted: Admitted): void {
    const proxyReq = upstream.request(req, headers);
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
      admitted.unreachable();
    });
    proxyReq.on('response', (proxyRes) => {
      admitted.answered(proxyRes.statusCode ?? 0);
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

  function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, headers: OutgoingHttpHeaders, admitted: Admitted): void {
    const proxyReq = upstream.request(req, headers);
    const onClientGone = () => proxyReq.destroy();
    socket.once('close', onClientGone);
    proxyReq.on('error', (error) => {
      logger.warn({ err: error.message, method: req.method, path: pathOf(req) }, 'the API server upgrade request failed');
      if (!socket.destroyed) admitted.unreachable();
    });
    // The API server refused or failed the request (403 from RBAC, 400 for a pod with no
    // node...), or answered without switching protocols: relay its answer as it streams,
    // delimited by closing the connection (the socket has left Node's HTTP framing).
    proxyReq.on('response', (proxyRes) => {
      socket.removeListener('close', onClientGone);
      admitted.answered(proxyRes.statusCode ?? 0);
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
      admitted.answered(101);
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
    request,
    upgrade,
    get activeUpgrades() {
      return tunnels.size;
    },
    close() {
      for (const [client, upstream] of tunnels) {
        client.destroy();
        upstream.destroy();
      }
    },
  };
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
export function writeRawResponse(socket: Duplex, code: number, headers: OutgoingHttpHeaders, body: Buffer): void {
  if (socket.destroyed) return;
  const head = responseHead(code, { ...headers, 'content-length': body.length, connection: 'close' });
  socket.end(Buffer.concat([Buffer.from(head, 'latin1'), body]));
}
