// The HTTPS client against a real local TLS server: CA trust, CA key pinning, and
// that nothing is sent to a server that is not trusted.
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCertificateAuthority } from '../lib/pki.ts';
import { authClient, checkServer } from './api.ts';
import { formatFingerprint, keyPin, validFingerprint } from './pinning.ts';
import { ApiStatusError, PinMismatchError, UnreachableError, UntrustedCertificateError } from './errors.ts';

let server: Server;
let url: string;
let caPem: string;
let fingerprint: string;
let ca: Awaited<ReturnType<typeof createCertificateAuthority>>;
const requests: { path: string; authorization?: string; body: string }[] = [];

beforeAll(async () => {
  ca = await createCertificateAuthority('test-ca');
  const pair = await issueLeaf(ca);
  caPem = ca.cert;
  fingerprint = keyPin(new X509Certificate(ca.cert));
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

/** A serving certificate as the operator serves it: the leaf, then the CA's certificate. */
async function issueLeaf(authority: Awaited<ReturnType<typeof createCertificateAuthority>>) {
  const leaf = await authority.issue({ commonName: 'localhost', usage: 'server', validFor: { days: 1 }, dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  return { ...leaf, cert: `${leaf.cert.trimEnd()}\n${authority.cert}` };
}

/** A TLS server with this certificate that answers every request; its URL. */
async function serve(pair: { cert: string; key: string }): Promise<{ url: string; close: () => void }> {
  const other = createServer(pair, (_req, res) => res.end('{}'));
  other.listen(0, '127.0.0.1');
  await once(other, 'listening');
  return { url: `https://127.0.0.1:${(other.address() as AddressInfo).port}`, close: () => void other.close() };
}

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

  it('trusts a pinned CA key in any spelling, whichever leaf the CA signed (a renewal, another replica)', async () => {
    await checkServer(url, { fingerprint: fingerprint.replaceAll(':', '').toLowerCase() });
    const status = await authClient({ server: url, trust: { fingerprint }, bearer: 'iss_a.b' }).create('AccessReview', {});
    expect(status.destinations).toEqual([]);
    const renewed = await serve(await issueLeaf(ca));
    try {
      await checkServer(renewed.url, { fingerprint });
    } finally {
      renewed.close();
    }
  });

  it('refuses, with PinMismatchError, a server whose chain does not reach the pinned CA key', async () => {
    const other = formatFingerprint('00'.repeat(32));
    const mismatch = await checkServer(url, { fingerprint: other }).catch((e: unknown) => e);
    expect(mismatch).toBeInstanceOf(PinMismatchError);
    expect((mismatch as Error).message).toContain(`does not match the CA key pinned for it, ${other}: no certificate it presented has the pinned CA key`);
    // An impostor's leaf presented with the real CA's certificate: the CA did not sign it.
    const impostorCA = await createCertificateAuthority('test-ca');
    const leaf = await impostorCA.issue({ commonName: 'localhost', usage: 'server', validFor: { days: 1 }, ipAddresses: ['127.0.0.1'] });
    const impostor = await serve({ cert: `${leaf.cert.trimEnd()}\n${ca.cert}`, key: leaf.key });
    try {
      const sent = requests.length;
      await expect(authClient({ server: impostor.url, trust: { fingerprint } }).create('Login', { email: 'a@example.com', password: 's' })).rejects.toThrow(
        PinMismatchError,
      );
      expect(requests.length).toBe(sent);
    } finally {
      impostor.close();
    }
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
