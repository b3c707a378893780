// The proxy with no cluster: a JWKS and an upstream "API server" that echoes what it
// receives, both local HTTPS servers with a test CA, and tokens from the operator's own
// signing code.
import { once } from 'node:events';
import { createServer, request, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeConfig } from '@kubernetes/client-node';
import { decodeJwt, importJWK, SignJWT } from 'jose';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuditLog, type AuditEvent } from '../../lib/audit.ts';
import { createLogger, type Logger } from '../../lib/log.ts';
import { createCertificateAuthority, type CertificateAuthority, type PemPair } from '../../lib/pki.ts';
import { type SigningKey, publicJwks, generateSigningKey, issueToken } from '../../api/tokens.ts';
import { https } from '../../hack/local-infra/https.ts';
import { JwksCache } from './jwks.ts';
import { createProxyServer, type ProxyServer } from './server.ts';
import { upstreamFromKubeConfig, type UpstreamOptions } from './upstream.ts';

const logger = createLogger('proxy-test', 'silent');
/** Every proxy's audit lines, in order. */
const auditLines: string[] = [];
const audit = createAuditLog('infra-connector', { destination: { write: (line: string) => void auditLines.push(line) } });
/** The audit Events written for requests to `uri` (a line for an earlier test's request may arrive later). */
const auditEvents = (uri: string) => auditLines.map((line) => JSON.parse(line) as AuditEvent).filter((event) => event.requestURI === uri);
const destination = 'production';
const uniformUnauthorized = {
  kind: 'Status',
  apiVersion: 'v1',
  metadata: {},
  status: 'Failure',
  reason: 'Unauthorized',
  code: 401,
  message: 'authentication failed',
};

let ca: CertificateAuthority;
let serving: PemPair;
let connectorCert: PemPair;

async function listen(server: Server): Promise<string> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

/** Serves publicJwks(keys) at /openid/v1/jwks and counts the fetches. */
async function startJwksServer(keys: SigningKey[]) {
  const state = { keys, fetches: 0 };
  const server = createServer({ ...serving }, (req, res) => {
    if (req.url !== '/openid/v1/jwks') return void res.writeHead(404).end();
    state.fetches++;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(publicJwks(state.keys)));
  });
  const issuer = await listen(server);
  return { issuer, state, close: () => closeServer(server) };
}

interface Seen {
  method: string;
  url: string;
  rawHeaders: string[];
  clientCN: string | undefined;
  body: string;
}

/** All values of a header, as sent on the wire (one entry per header line). */
function headerLines(seen: Seen, name: string): string[] {
  const values: string[] = [];
  for (let i = 0; i < seen.rawHeaders.length; i += 2) if (seen.rawHeaders[i]!.toLowerCase() === name) values.push(seen.rawHeaders[i + 1]!);
  return values;
}

/** The upstream "API server": echoes requests, streams on /stream, and echoes bytes after an upgrade. */
async function startUpstream() {
  const seen: Seen[] = [];
  const gates: Array<() => void> = [];
  const waitGate = () => new Promise<void>((resolve) => gates.push(resolve));
  const streamClosed: Array<() => void> = [];
  const record = (req: IncomingMessage, body = ''): Seen => {
    const peer = (req.socket as TLSSocket).getPeerCertificate();
    const entry = { method: req.method!, url: req.url!, rawHeaders: req.rawHeaders, clientCN: peer?.subject?.CN as string | undefined, body };
    seen.push(entry);
    return entry;
  };
  const server = createServer(
    { ...serving, ca: ca.cert, requestCert: true, rejectUnauthorized: false },
    (req: IncomingMessage, res: ServerResponse) => void answer(req, res),
  );
  async function answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.url?.startsWith('/stream')) {
      record(req);
      res.on('close', () => streamClosed.shift()?.());
      res.writeHead(200, { 'content-type': 'application/json' });
      res.flushHeaders();
      await waitGate();
      res.write('{"type":"ADDED"}\n');
      await waitGate();
      res.end('{"type":"DELETED"}\n');
      return;
    }
    if (req.url === '/many-headers') {
      // Repeated lines, and a header its Connection header names as for this hop only.
      res.writeHead(200, [
        'Warning',
        '299 - "one"',
        'Warning',
        '299 - "two"',
        'X-Hop',
        'secret',
        'Connection',
        'keep-alive, X-Hop',
        'Content-Type',
        'application/json',
      ]);
      res.end('{}');
      return;
    }
    let body = '';
    for await (const chunk of req) body += chunk;
    const entry = record(req, body);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(entry));
  }
  server.on('upgrade', (req: IncomingMessage, socket: Socket) => {
    const entry = record(req);
    if (req.url?.includes('refuse')) {
      const body = JSON.stringify({ kind: 'Status', code: 403, message: `user "${String(req.headers['impersonate-user'])}" cannot create pods/exec` });
      // Chunked, as Go writes an answer of unknown length: the proxy must re-frame it.
      const chunk = (text: string) => `${Buffer.byteLength(text).toString(16)}\r\n${text}\r\n`;
      socket.end(
        `HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${chunk(body.slice(0, 10))}${chunk(body.slice(10))}0\r\n\r\n`,
      );
      return;
    }
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${req.headers.upgrade}\r\nX-Stream-Protocol-Version: v4.channel.k8s.io\r\nX-Seen-User: ${entry.clientCN}\r\n\r\n`,
    );
    socket.on('data', (data: Buffer) => socket.write(Buffer.concat([Buffer.from('echo:'), data])));
  });
  const url = await listen(server);
  return {
    url,
    seen,
    openGate: async () => {
      while (gates.length === 0) await sleep(5);
      gates.shift()!();
    },
    onStreamClosed: () => new Promise<void>((resolve) => streamClosed.push(resolve)),
    close: () => closeServer(server),
  };
}

let jwks: Awaited<ReturnType<typeof startJwksServer>>;
let upstream: Awaited<ReturnType<typeof startUpstream>>;
let keyA: SigningKey;
let cache: JwksCache;
let registry: Registry;
let proxy: ProxyServer;
let proxyUrl: string;
const cleanups: Array<() => unknown> = [];

interface StartOptions {
  upstream?: Partial<UpstreamOptions>;
  registry?: Registry;
  issuer?: string;
  logger?: Logger;
}

async function startProxy(keys: JwksCache, options: StartOptions = {}) {
  const server = createProxyServer({
    tls: serving,
    destination,
    issuer: options.issuer ?? jwks.issuer,
    keys,
    upstream: { server: upstream.url, ca: ca.cert, cert: connectorCert.cert, key: connectorCert.key, ...options.upstream },
    logger: options.logger ?? logger,
    audit,
    ...(options.registry ? { registry: options.registry } : {}),
  });
  const address = await server.listen(0, '127.0.0.1');
  cleanups.push(() => server.close());
  return { server, url: `https://127.0.0.1:${address.port}` };
}

function token(overrides: Partial<Parameters<typeof issueToken>[0]> = {}): Promise<string> {
  return issueToken({ keys: keyA, issuer: jwks.issuer, audience: destination, subject: 'alice@example.com', groups: ['devs', 'ops'], ...overrides }).then(
    (t) => t.token,
  );
}

/** An ES256 token with arbitrary claims and header, signed by `key`. */
async function craft(key: SigningKey, claims: Record<string, unknown>, header: Record<string, unknown> = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    iss: jwks.issuer,
    aud: destination,
    sub: 'alice@example.com',
    groups: ['devs'],
    iat: now,
    nbf: now,
    exp: now + 300,
    jti: 'j1',
    ...claims,
  })
    .setProtectedHeader({ alg: 'ES256', kid: key.kid, typ: 'JWT', ...header })
    .sign(await importJWK(key.privateJwk, 'ES256'));
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

function get(url: string, headers: Record<string, string | string[]> = {}) {
  return https(url, { ca: ca.cert, headers });
}

beforeAll(async () => {
  ca = await createCertificateAuthority('proxy test CA');
  serving = await ca.issue({ commonName: 'localhost', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], usage: 'server' });
  connectorCert = await ca.issue({ commonName: 'infra-connector', usage: 'client' });
  keyA = await generateSigningKey();
  jwks = await startJwksServer([keyA]);
  upstream = await startUpstream();
  cache = new JwksCache({ issuer: jwks.issuer, ca: ca.cert, logger });
  await cache.start();
  registry = new Registry();
  ({ server: proxy, url: proxyUrl } = await startProxy(cache, { registry }));
});

afterAll(async () => {
  cache?.stop();
  for (const cleanup of cleanups.reverse()) await cleanup();
  await upstream?.close();
  await jwks?.close();
});

describe('a valid token', () => {
  it('is forwarded with exactly one Impersonate-User and one Impersonate-Group per group, and the connector’s own credentials', async () => {
    const before = upstream.seen.length;
    const res = await get(`${proxyUrl}/api/v1/namespaces/web/pods?labelSelector=app%3Dweb`, {
      authorization: `Bearer ${await token()}`,
      'x-forwarded-for': '6.6.6.6',
      'X-Forwarded-Host': 'evil.example.com',
      'X-Remote-User': 'admin',
      'x-remote-group': 'system:masters',
      forwarded: 'for=6.6.6.6',
      accept: 'application/json',
    });
    expect(res.status).toBe(200);
    expect(upstream.seen.length).toBe(before + 1);
    const seen = res.json<Seen>();
    expect(seen.method).toBe('GET');
    expect(seen.url).toBe('/api/v1/namespaces/web/pods?labelSelector=app%3Dweb');
    expect(headerLines(seen, 'impersonate-user')).toEqual(['alice@example.com']);
    expect(headerLines(seen, 'impersonate-group')).toEqual(['devs', 'ops']);
    expect(headerLines(seen, 'authorization')).toEqual([]);
    expect(headerLines(seen, 'x-forwarded-for')).toEqual([]);
    expect(headerLines(seen, 'x-forwarded-host')).toEqual([]);
    expect(headerLines(seen, 'x-remote-user')).toEqual([]);
    expect(headerLines(seen, 'x-remote-group')).toEqual([]);
    expect(headerLines(seen, 'forwarded')).toEqual([]);
    expect(headerLines(seen, 'accept')).toEqual(['application/json']);
    expect(headerLines(seen, 'host')).toEqual([new URL(upstream.url).host]);
    expect(seen.clientCN).toBe('infra-connector');
  });

  it('logs the request at debug with the user and the status the API server answered, never the token', async () => {
    const lines: string[] = [];
    const { url } = await startProxy(cache, { logger: createLogger('proxy-test', 'debug', { write: (line: string) => void lines.push(line) }) });
    const bearer = await token();
    expect((await get(`${url}/api/v1/namespaces/web/pods?labelSelector=secret`, { authorization: `Bearer ${bearer}` })).status).toBe(200);
    const proxied = lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line.msg === 'proxied');
    expect(proxied).toEqual([expect.objectContaining({ method: 'GET', path: '/api/v1/namespaces/web/pods', user: 'alice@example.com', status: 200 })]);
    expect(lines.join('')).not.toContain(bearer);
  });

  it('forwards repeated header lines in order both ways, and drops headers a Connection header names', async () => {
    const res = await get(`${proxyUrl}/api`, {
      authorization: `Bearer ${await token()}`,
      accept: ['application/json', 'text/plain'],
      connection: 'keep-alive, X-Secret',
      'x-secret': 'hop',
      'x-kept': 'yes',
    });
    const seen = res.json<Seen>();
    expect(headerLines(seen, 'accept')).toEqual(['application/json', 'text/plain']);
    expect(headerLines(seen, 'x-secret')).toEqual([]);
    expect(headerLines(seen, 'x-kept')).toEqual(['yes']);

    const answer = await get(`${proxyUrl}/many-headers`, { authorization: `Bearer ${await token()}` });
    expect(answer.status).toBe(200);
    expect(answer.headers.warning).toBe('299 - "one", 299 - "two"');
    expect(answer.headers['x-hop']).toBeUndefined();
  });

  it('forwards a request body', async () => {
    const res = await https(`${proxyUrl}/api/v1/namespaces/web/configmaps`, {
      ca: ca.cert,
      method: 'POST',
      headers: { authorization: `Bearer ${await token()}` },
      body: { kind: 'ConfigMap', metadata: { name: 'x' } },
    });
    expect(res.status).toBe(200);
    const seen = res.json<Seen>();
    expect(seen.method).toBe('POST');
    expect(JSON.parse(seen.body)).toEqual({ kind: 'ConfigMap', metadata: { name: 'x' } });
  });

  it('sends the connector’s bearer token, not the client’s, when the connector uses a token', async () => {
    const { url } = await startProxy(cache, { upstream: { cert: undefined, key: undefined, token: () => 'connector-sa-token' } });
    const res = await get(`${url}/api`, { authorization: `Bearer ${await token()}` });
    expect(res.status).toBe(200);
    const seen = res.json<Seen>();
    expect(headerLines(seen, 'authorization')).toEqual(['Bearer connector-sa-token']);
    expect(headerLines(seen, 'impersonate-user')).toEqual(['alice@example.com']);
    expect(seen.clientCN).toBeUndefined();
  });

  it('impersonates no group when the token has none, drops system: groups, and sends UTF-8 names intact', async () => {
    let seen = (await get(`${proxyUrl}/api`, { authorization: `Bearer ${await token({ groups: [] })}` })).json<Seen>();
    expect(headerLines(seen, 'impersonate-group')).toEqual([]);
    seen = (
      await get(`${proxyUrl}/api`, {
        authorization: `Bearer ${await token({ subject: 'zoë@example.com', groups: ['system:masters', 'Développeurs', 'devs', 'devs'] })}`,
      })
    ).json<Seen>();
    const utf8 = (values: string[]) => values.map((v) => Buffer.from(v, 'latin1').toString('utf8'));
    expect(utf8(headerLines(seen, 'impersonate-user'))).toEqual(['zoë@example.com']);
    expect(utf8(headerLines(seen, 'impersonate-group'))).toEqual(['Développeurs', 'devs']);
  });

  it('drops a group with space around it: the API server would read " system:masters" as system:masters', async () => {
    const seen = (
      await get(`${proxyUrl}/api`, {
        authorization: `Bearer ${await token({ groups: [' system:masters', 'system:masters\t', '\u00a0system:masters', ' devs', 'Web Dev'] })}`,
      })
    ).json<Seen>();
    expect(headerLines(seen, 'impersonate-group')).toEqual(['Web Dev']);
  });

  it('streams a response chunk by chunk, headers first, and ends the upstream request when the client goes away', async () => {
    const auth = `Bearer ${await token()}`;
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = request(`${proxyUrl}/stream?watch=1`, { ca: ca.cert, headers: { authorization: auth } }, resolve);
      req.on('error', reject);
      req.end();
    });
    // The headers arrived although upstream has not written a byte of the body yet.
    expect(res.statusCode).toBe(200);
    const chunks: string[] = [];
    res.setEncoding('utf8').on('data', (chunk: string) => chunks.push(chunk));
    await upstream.openGate();
    await expect.poll(() => chunks.join(''), { timeout: 5000 }).toBe('{"type":"ADDED"}\n');
    const closed = upstream.onStreamClosed();
    res.destroy();
    await closed;
  });

  it('passes an upgrade (SPDY, POST) through with the impersonation headers, then bytes both ways', async () => {
    const auth = `Bearer ${await token()}`;
    const { res, socket } = await upgrade('POST', '/api/v1/namespaces/web/pods/web-0/exec?command=ls&stdout=true', {
      authorization: auth,
      connection: 'Upgrade',
      upgrade: 'SPDY/3.1',
      'x-stream-protocol-version': ['v4.channel.k8s.io', 'v3.channel.k8s.io'],
      'x-forwarded-for': '6.6.6.6',
      'content-length': '0',
    });
    expect(res.statusCode).toBe(101);
    expect(res.headers.upgrade).toBe('SPDY/3.1');
    expect(res.headers['x-stream-protocol-version']).toBe('v4.channel.k8s.io');
    expect(res.headers['x-seen-user']).toBe('infra-connector');
    const seen = upstream.seen.at(-1)!;
    expect(seen.method).toBe('POST');
    expect(headerLines(seen, 'impersonate-user')).toEqual(['alice@example.com']);
    expect(headerLines(seen, 'impersonate-group')).toEqual(['devs', 'ops']);
    expect(headerLines(seen, 'authorization')).toEqual([]);
    expect(headerLines(seen, 'x-forwarded-for')).toEqual([]);
    expect(headerLines(seen, 'upgrade')).toEqual(['SPDY/3.1']);
    expect(headerLines(seen, 'connection')).toEqual(['Upgrade']);
    expect(headerLines(seen, 'x-stream-protocol-version')).toEqual(['v4.channel.k8s.io', 'v3.channel.k8s.io']);
    expect(headerLines(seen, 'content-length')).toEqual(['0']);
    expect(proxy.proxy.activeUpgrades).toBe(1);
    socket.write('ping');
    const [data] = (await once(socket, 'data')) as [Buffer];
    expect(data.toString()).toBe('echo:ping');
    socket.destroy();
    await expect.poll(() => proxy.proxy.activeUpgrades).toBe(0);
  });

  it('passes a websocket upgrade (GET) through and strips a bearer token subprotocol', async () => {
    const { res, socket } = await upgrade('GET', '/api/v1/namespaces/web/pods/web-0/portforward?ports=80', {
      authorization: `Bearer ${await token()}`,
      connection: 'Upgrade',
      upgrade: 'websocket',
      'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
      'sec-websocket-version': '13',
      'sec-websocket-protocol': 'v5.channel.k8s.io, base64url.bearer.authorization.k8s.io.c2VjcmV0, portforward.k8s.io',
    });
    expect(res.statusCode).toBe(101);
    socket.destroy();
    const seen = upstream.seen.at(-1)!;
    expect(headerLines(seen, 'sec-websocket-protocol')).toEqual(['v5.channel.k8s.io, portforward.k8s.io']);
    expect(headerLines(seen, 'impersonate-user')).toEqual(['alice@example.com']);
    expect(headerLines(seen, 'content-length')).toEqual([]);
  });

  it('relays the API server’s refusal of an upgrade as a complete response', async () => {
    const { res, body } = await upgradeRefused('POST', '/api/v1/namespaces/web/pods/web-0/exec?refuse=1', {
      authorization: `Bearer ${await token()}`,
      connection: 'Upgrade',
      upgrade: 'SPDY/3.1',
    });
    expect(res.statusCode).toBe(403);
    expect(JSON.parse(body)).toMatchObject({ code: 403, message: 'user "alice@example.com" cannot create pods/exec' });
  });
});

describe('the audit trail', () => {
  it('has one audit.k8s.io Event per request, naming the token’s jti as the credential id, and gives the API server its auditID', async () => {
    const bearer = await token();
    const res = await get(`${proxyUrl}/api/v1/namespaces/web/pods/nginx`, {
      authorization: `Bearer ${bearer}`,
      'user-agent': 'kubectl/v1.36.3',
      'audit-id': 'chosen-by-the-client',
    });
    expect(res.status).toBe(200);
    await expect.poll(() => auditEvents('/api/v1/namespaces/web/pods/nginx')).toHaveLength(1);
    const [event] = auditEvents('/api/v1/namespaces/web/pods/nginx');
    expect(event).toEqual({
      kind: 'Event',
      apiVersion: 'audit.k8s.io/v1',
      level: 'Metadata',
      auditID: expect.stringMatching(/^[0-9a-f-]{36}$/),
      stage: 'ResponseComplete',
      requestURI: '/api/v1/namespaces/web/pods/nginx',
      verb: 'get',
      user: {
        username: 'alice@example.com',
        groups: ['devs', 'ops'],
        extra: { 'authentication.kubernetes.io/credential-id': [`JTI=${decodeJwt(bearer).jti}`] },
      },
      sourceIPs: ['127.0.0.1'],
      userAgent: 'kubectl/v1.36.3',
      objectRef: { resource: 'pods', namespace: 'web', name: 'nginx', apiVersion: 'v1' },
      responseStatus: { metadata: {}, code: 200 },
      requestReceivedTimestamp: expect.any(String),
      stageTimestamp: expect.any(String),
      annotations: { 'infrahq.com/component': 'infra-connector' },
    });
    expect(Date.parse(event!.stageTimestamp)).toBeGreaterThanOrEqual(Date.parse(event!.requestReceivedTimestamp));
    // The API server records the request under the proxy's id, never one the client chose.
    expect(headerLines(res.json<Seen>(), 'audit-id')).toEqual([event!.auditID]);
    expect(auditLines.join('')).not.toContain(bearer);
  });

  it('has a line for a refused request too, with the code and no user', async () => {
    expect((await get(`${proxyUrl}/apis/apps/v1/deployments?watch=1`, { authorization: 'Bearer not.a.token' })).status).toBe(401);
    expect((await get(`${proxyUrl}/api/v1/nodes`, { authorization: `Bearer ${await token()}`, 'impersonate-user': 'admin' })).status).toBe(403);
    await expect.poll(() => auditEvents('/api/v1/nodes')).toHaveLength(1);
    expect(auditEvents('/apis/apps/v1/deployments?watch=1')).toEqual([
      expect.objectContaining({
        verb: 'watch',
        user: {},
        objectRef: { resource: 'deployments', apiGroup: 'apps', apiVersion: 'v1' },
        responseStatus: { metadata: {}, code: 401 },
      }),
    ]);
    expect(auditEvents('/api/v1/nodes')).toEqual([
      expect.objectContaining({ verb: 'list', user: {}, objectRef: { resource: 'nodes', apiVersion: 'v1' }, responseStatus: { metadata: {}, code: 403 } }),
    ]);
    expect(auditLines.join('')).not.toContain('not.a.token');
  });

  it('has the line of an exec session when it ends, with the 101 that started it and the same auditID upstream', async () => {
    const bearer = await token();
    const uri = '/api/v1/namespaces/web/pods/web-0/exec?command=ls&audit=1';
    const { socket } = await upgrade('POST', uri, {
      authorization: `Bearer ${bearer}`,
      connection: 'Upgrade',
      upgrade: 'SPDY/3.1',
      'content-length': '0',
    });
    const seen = upstream.seen.at(-1)!;
    await sleep(50);
    expect(auditEvents(uri)).toEqual([]);
    socket.destroy();
    await expect.poll(() => auditEvents(uri)).toHaveLength(1);
    const [event] = auditEvents(uri);
    expect(event).toMatchObject({
      verb: 'create',
      user: { username: 'alice@example.com', extra: { 'authentication.kubernetes.io/credential-id': [`JTI=${decodeJwt(bearer).jti}`] } },
      objectRef: { resource: 'pods', namespace: 'web', name: 'web-0', subresource: 'exec', apiVersion: 'v1' },
      responseStatus: { code: 101 },
    });
    expect(headerLines(seen, 'audit-id')).toEqual([event!.auditID]);
  });
});

describe('a missing or bad token', () => {
  const cases: Array<[string, () => Promise<Record<string, string>>]> = [
    ['no token', async () => ({})],
    ['basic auth', async () => ({ authorization: `Basic ${Buffer.from('alice:secret').toString('base64')}` })],
    ['garbage', async () => ({ authorization: 'Bearer not-a-jwt' })],
    [
      'a bad signature (another key, our kid)',
      async () => {
        const other = await generateSigningKey();
        return { authorization: `Bearer ${await craft({ ...other, kid: keyA.kid }, {})}` };
      },
    ],
    [
      'a tampered payload',
      async () => {
        const [h, , s] = (await token()).split('.');
        return { authorization: `Bearer ${h}.${b64({ iss: jwks.issuer, aud: destination, sub: 'admin@example.com', groups: ['admins'] })}.${s}` };
      },
    ],
    ['an expired token', async () => ({ authorization: `Bearer ${await token({ now: new Date(Date.now() - 10 * 60_000) })}` })],
    ['a token not valid yet', async () => ({ authorization: `Bearer ${await token({ now: new Date(Date.now() + 5 * 60_000) })}` })],
    ['a wrong issuer', async () => ({ authorization: `Bearer ${await token({ issuer: 'https://evil.example.com' })}` })],
    ['a wrong audience', async () => ({ authorization: `Bearer ${await token({ audience: 'staging' })}` })],
    [
      'alg: none',
      async () => {
        const now = Math.floor(Date.now() / 1000);
        const claims = { iss: jwks.issuer, aud: destination, sub: 'alice@example.com', groups: ['devs'], iat: now, nbf: now, exp: now + 300, jti: 'x' };
        return { authorization: `Bearer ${b64({ alg: 'none', typ: 'JWT', kid: keyA.kid })}.${b64(claims)}.` };
      },
    ],
    [
      'HS256 keyed with the public key',
      async () => {
        const now = Math.floor(Date.now() / 1000);
        const jwt = await new SignJWT({ groups: ['devs'] })
          .setProtectedHeader({ alg: 'HS256', kid: keyA.kid, typ: 'JWT' })
          .setIssuer(jwks.issuer)
          .setAudience(destination)
          .setSubject('alice@example.com')
          .setIssuedAt(now)
          .setNotBefore(now)
          .setExpirationTime(now + 300)
          .setJti('x')
          .sign(Buffer.from(JSON.stringify(publicJwks([keyA]).keys[0])));
        return { authorization: `Bearer ${jwt}` };
      },
    ],
    ['groups not a list', async () => ({ authorization: `Bearer ${await craft(keyA, { groups: 'admins' })}` })],
    ['groups with a non-string', async () => ({ authorization: `Bearer ${await craft(keyA, { groups: ['devs', 7] })}` })],
    ['no subject', async () => ({ authorization: `Bearer ${await craft(keyA, { sub: undefined })}` })],
    ['a system: subject', async () => ({ authorization: `Bearer ${await token({ subject: 'system:admin' })}` })],
    [
      'a system: subject behind a space, which the API server would trim',
      async () => ({ authorization: `Bearer ${await token({ subject: ' system:admin' })}` }),
    ],
    ['a subject with a trailing tab', async () => ({ authorization: `Bearer ${await token({ subject: 'alice@example.com\t' })}` })],
    ['a subject with a newline', async () => ({ authorization: `Bearer ${await craft(keyA, { sub: 'alice\r\nImpersonate-Group: system:masters' })}` })],
    ['an unknown kid', async () => ({ authorization: `Bearer ${await craft(await generateSigningKey(), {})}` })],
  ];

  it.each(cases)('%s → 401 with the uniform Status, nothing sent upstream', async (_name, headers) => {
    const before = upstream.seen.length;
    const res = await get(`${proxyUrl}/api/v1/pods`, await headers());
    expect(res.status).toBe(401);
    expect(res.json()).toEqual(uniformUnauthorized);
    expect(upstream.seen.length).toBe(before);
  });

  it('is refused on an upgrade too', async () => {
    const before = upstream.seen.length;
    const { res, body } = await upgradeRefused('POST', '/api/v1/namespaces/web/pods/web-0/exec', {
      authorization: `Bearer ${await token({ audience: 'staging' })}`,
      connection: 'Upgrade',
      upgrade: 'SPDY/3.1',
    });
    expect(res.statusCode).toBe(401);
    expect(JSON.parse(body)).toEqual(uniformUnauthorized);
    expect(upstream.seen.length).toBe(before);
  });
});

describe('impersonation headers from a client', () => {
  const headers = [
    'Impersonate-User',
    'impersonate-group',
    'IMPERSONATE-UID',
    'Impersonate-Extra-Foo',
    'impersonate-extra-scopes',
    'iMpErSoNaTe-UsEr',
    'Impersonate_User',
  ];

  it.each(headers)('%s → 403, even with a valid token, nothing sent upstream', async (header) => {
    const before = upstream.seen.length;
    const res = await get(`${proxyUrl}/api/v1/pods`, { authorization: `Bearer ${await token()}`, [header]: 'system:masters' });
    expect(res.status).toBe(403);
    expect(res.json()).toMatchObject({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Forbidden', code: 403 });
    expect(upstream.seen.length).toBe(before);
  });

  it('→ 403 without a token as well, and on an upgrade', async () => {
    expect((await get(`${proxyUrl}/api`, { 'Impersonate-User': 'admin' })).status).toBe(403);
    const before = upstream.seen.length;
    const { res } = await upgradeRefused('POST', '/api/v1/namespaces/web/pods/web-0/exec', {
      authorization: `Bearer ${await token()}`,
      connection: 'Upgrade',
      upgrade: 'SPDY/3.1',
      'Impersonate-Group': 'system:masters',
    });
    expect(res.statusCode).toBe(403);
    expect(upstream.seen.length).toBe(before);
  });
});

describe('the key cache', () => {
  it('keeps verifying with the last keys when the hub is unreachable (stale-if-error)', async () => {
    const hub = await startJwksServer([keyA]);
    const stale = new JwksCache({ issuer: hub.issuer, ca: ca.cert, refreshIntervalMs: 50, logger });
    cleanups.push(() => stale.stop());
    await stale.start();
    const { url } = await startProxy(stale, { issuer: hub.issuer });
    expect(stale.ready).toBe(true);
    await hub.close();
    const fetchesWhenStopped = hub.state.fetches;
    await sleep(300); // several refreshes fail meanwhile
    expect(await stale.refresh()).toBe(false);
    expect(stale.ready).toBe(true);
    const jwt = await issueToken({ keys: keyA, issuer: hub.issuer, audience: destination, subject: 'alice@example.com', groups: [] });
    const res = await get(`${url}/api`, { authorization: `Bearer ${jwt.token}` });
    expect(res.status).toBe(200);
    expect(hub.state.fetches).toBe(fetchesWhenStopped);
  });

  it('refetches once for a token with an unknown kid (a rotation), and no more than once per interval', async () => {
    const hub = await startJwksServer([keyA]);
    // An interval long enough that the made-up kids below all fall inside it on a busy machine.
    const interval = 2_000;
    const rotating = new JwksCache({ issuer: hub.issuer, ca: ca.cert, refreshIntervalMs: 3_600_000, unknownKidRefetchIntervalMs: interval, logger });
    cleanups.push(
      () => rotating.stop(),
      () => hub.close(),
    );
    await rotating.start();
    expect(hub.state.fetches).toBe(1);
    const { url } = await startProxy(rotating, { issuer: hub.issuer });
    await sleep(interval + 50);

    const keyB = await generateSigningKey();
    hub.state.keys = [keyA, keyB];
    const tokens = await Promise.all(
      Array.from({ length: 5 }, () => issueToken({ keys: keyB, issuer: hub.issuer, audience: destination, subject: 'alice@example.com', groups: [] })),
    );
    const answers = await Promise.all(tokens.map((t) => get(`${url}/api`, { authorization: `Bearer ${t.token}` })));
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(hub.state.fetches).toBe(2); // five tokens, one refetch

    // Made-up kids right after: refused, and no new fetch within the interval.
    const refetchedAt = Date.now();
    const unknown = await generateSigningKey();
    for (let i = 0; i < 5; i++) {
      const t = await issueToken({ keys: unknown, issuer: hub.issuer, audience: destination, subject: 'alice@example.com', groups: [] });
      expect((await get(`${url}/api`, { authorization: `Bearer ${t.token}` })).status).toBe(401);
    }
    expect(Date.now() - refetchedAt, 'the made-up kids took longer than the interval: raise it').toBeLessThan(interval);
    expect(hub.state.fetches).toBe(2);
  });

  it('refuses a token it has already accepted once the hub has withdrawn its key', async () => {
    const hub = await startJwksServer([keyA]);
    const keys = new JwksCache({ issuer: hub.issuer, ca: ca.cert, refreshIntervalMs: 3_600_000, logger });
    cleanups.push(
      () => keys.stop(),
      () => hub.close(),
    );
    await keys.start();
    const { url } = await startProxy(keys, { issuer: hub.issuer });
    const jwt = await issueToken({ keys: keyA, issuer: hub.issuer, audience: destination, subject: 'alice@example.com', groups: [] });
    const headers = { authorization: `Bearer ${jwt.token}` };
    expect((await get(`${url}/api`, headers)).status).toBe(200);
    expect((await get(`${url}/api`, headers)).status).toBe(200); // verified once, remembered

    hub.state.keys = [await generateSigningKey()];
    expect(await keys.refresh()).toBe(true);
    expect((await get(`${url}/api`, headers)).status).toBe(401);
  });

  it('does not refetch for an unknown kid within 10 s of the last fetch by default', async () => {
    const before = jwks.state.fetches;
    const res = await get(`${proxyUrl}/api`, { authorization: `Bearer ${await craft(await generateSigningKey(), {})}` });
    expect(res.status).toBe(401);
    expect(jwks.state.fetches).toBe(before);
  });

  it('answers 503 while it has never had keys', async () => {
    const nowhere = new JwksCache({ issuer: 'https://127.0.0.1:1', ca: ca.cert, logger });
    const { url } = await startProxy(nowhere);
    const res = await get(`${url}/api`, { authorization: `Bearer ${await token()}` });
    expect(res.status).toBe(503);
    expect(res.json()).toMatchObject({ kind: 'Status', code: 503, reason: 'ServiceUnavailable' });
  });
});

describe('the API server’s certificate', () => {
  /** A request through a proxy with these upstream options gets a 502, and nothing reaches the API server. */
  async function expectRefusedUpstream(options: Partial<UpstreamOptions>): Promise<void> {
    const { url } = await startProxy(cache, { upstream: options });
    const before = upstream.seen.length;
    const res = await get(`${url}/api`, { authorization: `Bearer ${await token()}` });
    expect(res.status).toBe(502);
    expect(res.json()).toMatchObject({ kind: 'Status', code: 502, message: "the connector could not reach this cluster's API server" });
    expect(upstream.seen.length).toBe(before);
  }

  it('must chain to the configured CA: an API server with another CA’s certificate is never sent the request', async () => {
    await expectRefusedUpstream({ ca: (await createCertificateAuthority('another CA')).cert });
  });

  it('must chain to the system CAs when no CA is configured', async () => {
    await expectRefusedUpstream({ ca: undefined });
  });

  it('must name the server the connector expects (servername), not just chain to the CA', async () => {
    await expectRefusedUpstream({ servername: 'kubernetes.default.svc' });
  });
});

describe('upstreamFromKubeConfig', () => {
  const kubeconfig = (user: Record<string, unknown>, cluster: Record<string, unknown> = {}) => {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'spoke', server: 'https://10.0.0.1:6443', caData: Buffer.from(ca.cert).toString('base64'), ...cluster }],
      users: [{ name: 'connector', ...user }],
      contexts: [{ name: 'spoke', cluster: 'spoke', user: 'connector' }],
      currentContext: 'spoke',
    });
    return kc;
  };

  it('takes the server, CA and client certificate', async () => {
    const upstream = await upstreamFromKubeConfig(
      kubeconfig({ certData: Buffer.from(connectorCert.cert).toString('base64'), keyData: Buffer.from(connectorCert.key).toString('base64') }),
    );
    expect(upstream.server).toBe('https://10.0.0.1:6443');
    expect(String(upstream.ca)).toBe(ca.cert);
    expect(String(upstream.cert)).toBe(connectorCert.cert);
    expect(upstream.token).toBeUndefined();
  });

  it('takes a bearer token, as a function', async () => {
    const upstream = await upstreamFromKubeConfig(kubeconfig({ token: 'sa-token' }));
    expect(typeof upstream.token).toBe('function');
    expect(await (upstream.token as () => Promise<string>)()).toBe('sa-token');
  });

  it('refuses a kubeconfig that skips TLS verification, or has no credentials', async () => {
    await expect(upstreamFromKubeConfig(kubeconfig({ token: 'x' }, { skipTLSVerify: true }))).rejects.toThrow(/TLS verification/);
    await expect(upstreamFromKubeConfig(kubeconfig({}))).rejects.toThrow(/neither a client certificate nor a bearer token/);
  });
});

describe('metrics', () => {
  it('counts requests by code, failures by reason, and observes latency', async () => {
    const text = await registry.metrics();
    expect(text).toMatch(/infra_connector_proxy_requests_total\{type="request",code="200"\} \d+/);
    expect(text).toMatch(/infra_connector_proxy_requests_total\{type="request",code="401"\} \d+/);
    expect(text).toMatch(/infra_connector_proxy_requests_total\{type="request",code="403"\} \d+/);
    expect(text).toMatch(/infra_connector_proxy_requests_total\{type="upgrade",code="101"\} \d+/);
    for (const reason of [
      'missing_token',
      'malformed',
      'signature',
      'expired',
      'not_yet_valid',
      'issuer',
      'audience',
      'algorithm',
      'claims',
      'unknown_key',
      'reserved_subject',
      'impersonation_header',
    ]) {
      expect(text).toContain(`infra_connector_proxy_authentication_failures_total{reason="${reason}"}`);
    }
    expect(text).toMatch(/infra_connector_proxy_response_latency_seconds_count\{type="request"\} \d+/);
  });
});

/** Sends an upgrade request through the proxy and resolves once it switched protocols. */
function upgrade(method: string, path: string, headers: Record<string, string | string[]>): Promise<{ res: IncomingMessage; socket: Socket }> {
  return new Promise((resolve, reject) => {
    const req = request(`${proxyUrl}${path}`, { method, ca: ca.cert, headers });
    req.on('upgrade', (res: IncomingMessage, socket: Socket) => resolve({ res, socket }));
    req.on('response', (res) => reject(new Error(`expected an upgrade, got HTTP ${res.statusCode}`)));
    req.on('error', reject);
    req.end();
  });
}

/** Sends an upgrade request through the proxy and resolves with the (non-101) answer. */
function upgradeRefused(method: string, path: string, headers: Record<string, string | string[]>): Promise<{ res: IncomingMessage; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${proxyUrl}${path}`, { method, ca: ca.cert, headers });
    req.on('upgrade', (_res, socket: Socket) => {
      socket.destroy();
      reject(new Error('expected a refusal, got an upgrade'));
    });
    req.on('response', (res: IncomingMessage) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ res, body }));
    });
    req.on('error', reject);
    req.end();
  });
}
