// The proxy scenario's baseline, a process of its own like the connector: express and
// http-proxy-middleware over HTTPS on loopback, forwarding every request to the spoke's
// API server with the connector's kind of credentials (a client certificate, keep-alive)
// and fixed impersonation headers. It verifies no token: what any proxy costs, without
// what makes ours safe.
//
//   node bench/bare-proxy.ts <config.json>   → prints {"port": N} once listening
import express from 'express';
import { createProxyMiddleware } from 'http-proxy-middleware';
import { readFileSync } from 'node:fs';
import { Agent, createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { UpstreamOptions } from '../connector/proxy/upstream.ts';

export interface BareProxyConfig {
  upstream: Required<Pick<UpstreamOptions, 'server' | 'ca' | 'cert' | 'key'>>;
  /** The proxy's serving certificate and key (PEM). */
  tls: { cert: string; key: string };
  impersonateUser: string;
}

const config = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as BareProxyConfig;
const { server, ca, cert, key } = config.upstream;
const app = express();
app.use(
  createProxyMiddleware({
    target: server,
    changeOrigin: true,
    agent: new Agent({ keepAlive: true, ca, cert, key }),
    headers: { 'impersonate-user': config.impersonateUser },
    on: {
      proxyReq: (proxyReq) => proxyReq.removeHeader('authorization'),
    },
  }),
);
const listener = createServer({ cert: config.tls.cert, key: config.tls.key, keepAliveTimeout: 65_000 }, app).listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (listener.address() as AddressInfo).port })}\n`);
});
