import { Socket } from 'node:net';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Gauge, Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { close, healthServer, isLoopback, listen } from './serve.ts';

const servers: ReturnType<typeof healthServer>[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await close(server);
});

/** What the server answers a GET of `path` from a peer at `remoteAddress` (a socket never connected). */
function answer(path: string, remoteAddress: string, registry = new Registry()): Promise<{ status: number; body: string }> {
  const server = healthServer(registry, () => undefined);
  const socket = new Socket();
  Object.defineProperty(socket, 'remoteAddress', { value: remoteAddress });
  const req = new IncomingMessage(socket);
  req.url = path;
  req.method = 'GET';
  const res = new ServerResponse(req);
  const chunks: string[] = [];
  res.write = ((chunk: string | Buffer) => (chunks.push(String(chunk)), true)) as typeof res.write;
  return new Promise((resolve) => {
    res.end = ((chunk?: string | Buffer) => {
      if (chunk) chunks.push(String(chunk));
      resolve({ status: res.statusCode, body: chunks.join('') });
      return res;
    }) as typeof res.end;
    server.emit('request', req, res);
  });
}

describe('healthServer', () => {
  it('answers the probes to anyone, so the kubelet reaches them from the node', async () => {
    expect(await answer('/healthz', '10.0.0.1')).toEqual({ status: 200, body: 'ok' });
    expect(await answer('/readyz', '10.0.0.1')).toEqual({ status: 200, body: 'ok' });
  });

  it('serves /metrics only to loopback, and says how to reach it otherwise', async () => {
    const remote = await answer('/metrics', '10.0.0.1');
    expect(remote.status).toBe(403);
    expect(remote.body).toContain('kubectl port-forward');
    expect((await answer('/metrics', '::ffff:10.0.0.1')).status).toBe(403);
    expect((await answer('/metrics', '127.0.0.1')).status).toBe(200);
  });

  it('answers 500 with the reason when a collector throws, rather than leaving the scrape hanging', async () => {
    const registry = new Registry();
    new Gauge({
      name: 'infra_broken',
      help: 'a gauge whose collect fails',
      registers: [registry],
      collect() {
        throw new Error('the cache is gone');
      },
    });
    expect(await answer('/metrics', '127.0.0.1', registry)).toEqual({ status: 500, body: 'collecting the metrics failed: the cache is gone' });
  });

  it('serves /metrics over a real loopback connection', async () => {
    const server = await listen(
      healthServer(new Registry(), () => undefined),
      '127.0.0.1:0',
    );
    servers.push(server);
    const { port } = server.address() as { port: number };
    expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(200);
  });

  it('knows loopback addresses', () => {
    expect(['127.0.0.1', '127.5.0.1', '::1', '::ffff:127.0.0.1'].map(isLoopback)).toEqual([true, true, true, true]);
    expect(['10.0.0.1', '::ffff:10.0.0.1', '2001:db8::1', '', undefined].map(isLoopback)).toEqual([false, false, false, false, false]);
  });
});
