// The proxy's way to its cluster's API server: where it is and the connector's own
// credentials for it (from a kubeconfig, in-cluster or a file), and the connections made
// with them: one TLS context, a keep-alive pool, a connect timeout.
//
// The API server's certificate is always verified: against the kubeconfig's CA, or the
// system CAs when there is none; a kubeconfig that disables verification is refused.
import { request as httpsRequest, Agent } from 'node:https';
import type { ClientRequest, IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import { createSecureContext } from 'node:tls';
import type { KubeConfig } from '@kubernetes/client-node';

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

export interface Upstream {
  /** The API server's host and port, as the Host header names it. */
  readonly host: string;
  /** The connector's bearer token for the API server now, when it uses one. */
  token(): Promise<string | undefined>;
  /** A request to the API server with the client's method and target, and these headers; not sent until ended. */
  request(req: IncomingMessage, headers: OutgoingHttpHeaders): ClientRequest;
  /** Ends the connection pool. */
  close(): void;
}

/** The connection to the API server `options` describe; throws unless it is https. */
export function createUpstream(options: UpstreamOptions, connectTimeoutMs: number): Upstream {
  const upstreamUrl = new URL(options.server);
  if (upstreamUrl.protocol !== 'https:') throw new Error(`the upstream API server must be https: ${options.server}`);
  const upstreamHostname = upstreamUrl.hostname.replace(/^\[|\]$/g, '');
  const basePath = upstreamUrl.pathname.replace(/\/+$/, '');
  const { ca, cert, key, servername } = options;
  // Keep-alive pool for ordinary requests; an upgraded socket leaves the pool for good.
  // The TLS context is built once. Given ca, cert and key instead, https.Agent would turn
  // the PEMs into its pool key on every request (decoded, concatenated and hashed: 14 µs,
  // ~4% of the proxy's CPU per request) and parse them again for every new connection.
  const agent = new Agent({ keepAlive: true, secureContext: createSecureContext({ ca, cert, key }), servername, rejectUnauthorized: true });

  return {
    host: upstreamUrl.host,
    async token() {
      const token = options.token;
      return typeof token === 'function' ? await token() : token;
    },
    request(req, headers) {
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
    },
    close() {
      agent.destroy();
    },
  };
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
    // Re-read at most every tokenReuseMs: client-node reads the CA and token files on every call.
    upstream.token = reusedFor(tokenReuseMs, async () => {
      const token = bearer((await current()).headers);
      if (!token) throw new Error('the kubeconfig no longer yields a bearer token');
      return token;
    });
  }
  if (!upstream.token && !(upstream.cert && upstream.key))
    throw new Error('the kubeconfig has neither a client certificate nor a bearer token for the connector');
  return upstream;
}

/** How long a rotating bearer token for the API server is used before it is read again. */
export const tokenReuseMs = 10_000;

/**
 * `read`, called at most once every `ms`: callers in between share its last answer, or the
 * read under way. A failed read is not kept; the next call reads again.
 */
export function reusedFor<T>(ms: number, read: () => Promise<T>): () => Promise<T> {
  let last: { value: Promise<T>; at: number } | undefined;
  return () => {
    if (!last || performance.now() - last.at >= ms) {
      const reading = { value: read(), at: performance.now() };
      reading.value.catch(() => {
        if (last === reading) last = undefined;
      });
      last = reading;
    }
    return last.value;
  };
}
