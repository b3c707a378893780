// The key set fetch, against a real HTTPS server on loopback: what it refuses, and that a
// refused or failed fetch keeps the keys the cache already holds.
import { once } from 'node:events';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKey, publicJwks, type SigningKey } from '../../api/tokens.ts';
import { createCertificateAuthority, type CertificateAuthority } from '../../lib/pki.ts';
import { JwksCache } from './jwks.ts';

let ca: CertificateAuthority;
let key: SigningKey;
let server: Server;
let issuer: string;
/** How the server answers the next fetches; the key set by default. */
let answer: (req: IncomingMessage, res: ServerResponse) => void;
const keySet = (_req: IncomingMessage, res: ServerResponse) =>
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(publicJwks([key])));
const caches: JwksCache[] = [];

function cache(options: { ca?: string; fetchTimeoutMs?: number } = {}): JwksCache {
  const created = new JwksCache({ issuer, ca: ca.cert, refreshIntervalMs: 3_600_000, ...options });
  caches.push(created);
  return created;
}

beforeAll(async () => {
  ca = await createCertificateAuthority('jwks test CA');
  key = await generateSigningKey();
  const serving = await ca.issue({ commonName: 'localhost', ipAddresses: ['127.0.0.1'], usage: 'server' });
  server = createServer(serving, (req, res) => answer(req, res));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  issuer = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const c of caches) c.stop();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('the key set fetch', () => {
  it('loads the key set, then keeps it through every kind of failed refresh', async () => {
    answer = keySet;
    const keys = cache({ fetchTimeoutMs: 500 });
    expect(await keys.refresh()).toBe(true);
    expect(keys.version).toBe(1);
    const failures: Array<[string, (req: IncomingMessage, res: ServerResponse) => void]> = [
      ['an error status', (_req, res) => res.writeHead(500).end('boom')],
      // where the redirect points, the key set is served: following it would succeed
      ['a redirect, not followed', (req, res) => (req.url === '/elsewhere' ? keySet(req, res) : res.writeHead(302, { location: `${issuer}/elsewhere` }).end())],
      ['not JSON', (_req, res) => res.writeHead(200).end('<html>')],
      ['a document over 1 MiB', (_req, res) => res.writeHead(200).end(JSON.stringify({ keys: [], padding: 'x'.repeat(1 << 20) }))],
      ['no usable key', (_req, res) => res.writeHead(200).end(JSON.stringify({ keys: [{ kty: 'RSA', n: 'x', e: 'AQAB' }] }))],
      ['no answer in time', () => undefined],
    ];
    for (const [what, failure] of failures) {
      answer = failure;
      expect(await keys.refresh(), what).toBe(false);
      expect(keys.ready, what).toBe(true);
      expect(keys.version, what).toBe(1);
    }
    answer = keySet;
    expect(await keys.refresh()).toBe(true);
  });

  it('refuses a server whose certificate does not chain to the configured CA', async () => {
    answer = keySet;
    const other = await createCertificateAuthority('another CA');
    const keys = cache({ ca: other.cert });
    expect(await keys.refresh()).toBe(false);
    expect(keys.ready).toBe(false);
  });
});
