// The HTTPS client against a real local TLS server: CA trust, fingerprint pinning, and
// that nothing is sent to a server that is not trusted.
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCertificateAuthority } from '../lib/pki.ts';
import { authClient, checkServer, formatFingerprint, validFingerprint } from './api.ts';
import { ApiStatusError, UnreachableError, UntrustedCertificateError } from './errors.ts';

let server: Server;
let url: string;
let caPem: string;
let fingerprint: string;
const requests: { path: string; authorization?: string; body: string }[] = [];

beforeAll(async () => {
  const ca = await createCertificateAuthority('test-ca');
  const pair = await ca.issue({ commonName: 'localhost', usage: 'server', validFor: { days: 1 }, dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  caPem = ca.cert;
  fingerprint = new X509Certificate(pair.cert).fingerprint256;
  server = createServer({ cert: pair.cert, key: pair.key }, (req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      requests.push({ path: req.url ?? '', body, ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}) });
      res.setHeader('content-type', 'application/json');
      if (req.headers.authorization === 'Bearer bad') {
        res.statusCode = 401;
        return res.end(
          JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'authentication failed', reason: 'Unauthorized', code: 401 }),
        );
      }
      res.statusCode = 201;
      const parsed = JSON.parse(body) as object;
      res.end(JSON.stringify({ ...parsed, status: { destinations: [], user: { email: 'a@example.com', groups: [] } } }));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => void server?.close());

describe('auth client', () => {
  it('talks to a server whose certificate the CA file verifies', async () => {
    const status = await authClient({ server: url, trust: { ca: caPem }, bearer: 'iss_a.b' }).create('AccessReview', {});
    expect(status.user.email).toBe('a@example.com');
    expect(requests.at(-1)).toEqual({
      path: '/apis/auth.infrahq.com/v1alpha1/accessreviews',
      authorization: 'Bearer iss_a.b',
      body: JSON.stringify({ apiVersion: 'auth.infrahq.com/v1alpha1', kind: 'AccessReview', spec: {} }),
    });
  });

  it('refuses an untrusted server before sending anything, and names its fingerprint', async () => {
    const sent = requests.length;
    const error = await authClient({ server: url, trust: {} })
      .create('Login', { email: 'a@example.com', password: 'secret' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UntrustedCertificateError);
    expect((error as UntrustedCertificateError).fingerprint).toBe(fingerprint);
    expect((error as Error).message).toContain(`--trust-fingerprint ${fingerprint}`);
    expect(requests.length).toBe(sent);
  });

  it('trusts a pinned fingerprint in any spelling, and refuses another', async () => {
    await checkServer(url, { fingerprint: fingerprint.replaceAll(':', '').toLowerCase() });
    const status = await authClient({ server: url, trust: { fingerprint }, bearer: 'iss_a.b' }).create('AccessReview', {});
    expect(status.destinations).toEqual([]);
    const other = formatFingerprint('00'.repeat(32));
    await expect(checkServer(url, { fingerprint: other })).rejects.toThrow(/does not match the fingerprint trusted for this server/);
  });

  it('turns a Status answer into an ApiStatusError and a closed port into "cannot reach"', async () => {
    const error = await authClient({ server: url, trust: { ca: caPem }, bearer: 'bad' })
      .create('AccessReview', {})
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiStatusError);
    expect(error).toMatchObject({ code: 401, message: 'authentication failed' });
    const closed = createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const port = (closed.address() as AddressInfo).port;
    closed.close();
    await expect(authClient({ server: `https://127.0.0.1:${port}`, trust: {} }).create('AccessReview', {})).rejects.toThrow(
      new UnreachableError(`https://127.0.0.1:${port}`, 'ECONNREFUSED'),
    );
    await expect(checkServer('https://no-such-host.invalid', {})).rejects.toThrow(
      /cannot reach https:\/\/no-such-host.invalid: is the server address right\? \((ENOTFOUND|EAI_AGAIN)\)/,
    );
  });

  it('formats and validates fingerprints', () => {
    expect(formatFingerprint('sha256:abcd')).toBe('AB:CD');
    expect(validFingerprint('ab'.repeat(32))).toBe(true);
    expect(validFingerprint('abc')).toBe(false);
  });
});
