// hack/tools/loadgen through bench/loadgen.ts, against a real HTTPS server on loopback:
// it verifies the server's certificate, sends the request it was given, keeps to its
// bounds, and stops at the first wrong answer.
import { once } from 'node:events';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCertificateAuthority } from '../lib/pki.ts';
import { httpLoad, type HttpLoad } from './loadgen.ts';

describe('httpLoad', () => {
  let server: Server;
  let ca: string;
  let url: string;
  /** What the server saw, and when it answers wrongly (the nth request, 1-based). */
  let seen: { method: string; authorization: string | undefined; body: string }[] = [];
  let failAt = Infinity;
  let delayMs = 0;

  beforeAll(async () => {
    const authority = await createCertificateAuthority('loadgen-test');
    ca = authority.cert;
    const serving = await authority.issue({ commonName: 'localhost', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], usage: 'server' });
    server = createServer({ cert: serving.cert, key: serving.key }, (req, res) => {
      let body = '';
      req.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      req.on('end', () => {
        seen.push({ method: req.method!, authorization: req.headers.authorization, body });
        const answer = () => (seen.length >= failAt ? res.writeHead(500).end('{"message":"broken"}') : res.writeHead(201).end('{"status":{"token":"t"}}'));
        setTimeout(answer, delayMs);
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/tokens`;
  });
  afterAll(() => server.close());

  const load = (overrides: Partial<HttpLoad> = {}): HttpLoad => {
    seen = [];
    failAt = Infinity;
    delayMs = 0;
    return {
      url,
      method: 'POST',
      headers: { authorization: 'Bearer s3cret' },
      body: '{"spec":{}}',
      ca,
      concurrency: 4,
      count: 40,
      durationMs: 10_000,
      expectStatus: 201,
      expectBody: '"token":"',
      ...overrides,
    };
  };

  it('sends count requests with the given method, headers and body, and times each', async () => {
    const spec = load();
    const result = await httpLoad(spec);
    expect(result.completed).toBe(40);
    expect(result.latenciesMs).toHaveLength(40);
    expect(result.latenciesMs.every((ms) => ms > 0 && ms < 10_000)).toBe(true);
    expect(result.clientCpuMs).toBeGreaterThan(0);
    expect(seen).toHaveLength(40);
    expect(new Set(seen.map((s) => JSON.stringify(s)))).toEqual(
      new Set([JSON.stringify({ method: 'POST', authorization: 'Bearer s3cret', body: '{"spec":{}}' })]),
    );
  });

  it('stops at the time bound', async () => {
    const spec = load({ count: 1_000_000, durationMs: 300, concurrency: 2 });
    delayMs = 20;
    const result = await httpLoad(spec);
    // Two at a time, 20 ms each, for 0.3 s: about 30 requests, far fewer than asked.
    expect(result.completed).toBeGreaterThan(0);
    expect(result.completed).toBeLessThan(100);
    expect(result.seconds).toBeGreaterThanOrEqual(0.3);
  });

  it('rejects with the first wrong answer and how many good ones came before it', async () => {
    const spec = load({ concurrency: 1 });
    failAt = 5;
    await expect(httpLoad(spec)).rejects.toThrow(/^after 4 good answers: POST https:\/\/127\.0\.0\.1:\d+\/tokens answered 500: \{"message":"broken"\}$/);
    expect(seen).toHaveLength(5);
  });

  it('rejects an answer without the expected text', async () => {
    await expect(httpLoad(load({ expectBody: '"other":' }))).rejects.toThrow(/answered 201: \{"status":\{"token":"t"\}\}/);
  });

  it('refuses a server whose certificate does not chain to the given CA', async () => {
    const other = await createCertificateAuthority('someone-else');
    await expect(httpLoad(load({ ca: other.cert }))).rejects.toThrow(/certificate signed by unknown authority/);
    expect(seen).toHaveLength(0);
  });

  it('says what is wrong with a spec loadgen cannot use', async () => {
    await expect(httpLoad(load({ ca: 'not a certificate' }))).rejects.toThrow(/loadgen exited with 2: loadgen: the load spec's ca holds no PEM certificate/);
  });
});
