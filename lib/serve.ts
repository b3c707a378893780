// Listening helpers and the health/metrics endpoint every Infra program serves.
import { createServer, type Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Registry } from 'prom-client';
import { errorMessage } from './errors.ts';

/** Splits "host:port" ("[::1]:8443", ":8080" means all interfaces). */
export function splitAddress(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  return { host: address.slice(0, colon).replace(/^\[|\]$/g, '') || '0.0.0.0', port: Number(address.slice(colon + 1)) };
}

export function listen<S extends HttpServer | HttpsServer>(server: S, address: string): Promise<S> {
  const { host, port } = splitAddress(address);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

export function close(server: HttpServer | HttpsServer): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** Whether a peer address is this host's own (127.0.0.0/8, ::1, or IPv4 loopback as IPv6). */
export function isLoopback(address: string | undefined): boolean {
  return address !== undefined && (/^(::ffff:)?127\./.test(address) || address === '::1');
}

/**
 * `/healthz` (the process serves) and `/readyz` (ready() says what is still missing, or
 * undefined when ready) on plain HTTP to anyone, for the kubelet's probes; `/metrics`
 * (Prometheus) only to this host's loopback. The metrics name users, destinations and
 * internals and this listener has no TLS or authentication, so a scraper reaches them
 * from inside the pod: a sidecar such as kube-rbac-proxy, or kubectl port-forward.
 */
/** What /metrics serves: a prom-client Registry, or several programs' parts joined (the connector's threads). */
export type MetricsSource = Pick<Registry, 'metrics' | 'contentType'>;

export function healthServer(metrics: MetricsSource, ready: () => string | undefined): HttpServer {
  return createServer((req, res) => {
    if (req.url === '/metrics' && !isLoopback(req.socket.remoteAddress)) {
      res.statusCode = 403;
      res.end('/metrics is served only on loopback: scrape it from inside the pod (a sidecar such as kube-rbac-proxy) or through kubectl port-forward');
    } else if (req.url === '/metrics') {
      metrics.metrics().then(
        (text) => {
          res.setHeader('Content-Type', metrics.contentType);
          res.end(text);
        },
        // A collector that throws fails this scrape, not the process, and the scraper is told at once.
        (err: unknown) => {
          res.statusCode = 500;
          res.end(`collecting the metrics failed: ${errorMessage(err)}`);
        },
      );
    } else if (req.url === '/healthz') {
      res.end('ok');
    } else if (req.url === '/readyz') {
      const missing = ready();
      res.statusCode = missing === undefined ? 200 : 503;
      res.end(missing === undefined ? 'ok' : `not ready: ${missing}`);
    } else {
      res.statusCode = 404;
      res.end('not found');
    }
  });
}
