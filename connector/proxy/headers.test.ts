// The header rewrite on its own: every rule that decides who the API server thinks the
// caller is, one test per rule, each failing if its rule were removed. Headers go in as
// Node's rawHeaders (name, value, name, value…, as sent); what comes out is what
// node:https would send upstream.
import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import { createLocalJWKSet } from 'jose';
import { Counter, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { generateSigningKey, issueToken, publicJwks } from '../../api/tokens.ts';
import { createLogger } from '../../lib/log.ts';
import { createAdmission } from './admission.ts';
import { downstreamHeaders, firstHeader, hasImpersonationHeader, upstreamHeaders, type Identity, type RequestHeaders } from './headers.ts';

const alice: Identity = { user: 'alice@example.com', groups: ['devs', 'ops'] };
const upstreamHost = '10.0.0.1:6443';

/** The headers sent upstream for a plain request from `alice`; fails the test on a refusal. */
function forwarded(rawHeaders: string[], options: { identity?: Identity; token?: string; upgrade?: string } = {}): OutgoingHttpHeaders {
  const result = upstreamHeaders(rawHeaders, options.identity ?? alice, upstreamHost, options.token, options.upgrade);
  if ('refused' in result) throw new Error(`refused: ${result.refused}`);
  return result.headers;
}

/** Every header name sent upstream, lowercased. */
const names = (headers: OutgoingHttpHeaders) => Object.keys(headers).map((n) => n.toLowerCase());

describe('Impersonate-* headers from a client are refused, never forwarded', () => {
  const variants: Array<[string, string[]]> = [
    ['Impersonate-User', ['Impersonate-User', 'admin']],
    ['Impersonate-Group', ['Impersonate-Group', 'system:masters']],
    ['Impersonate-Uid', ['Impersonate-Uid', '1234']],
    ['Impersonate-Extra-Scopes', ['Impersonate-Extra-Scopes', 'view']],
    ['Impersonate-Extra- with an escaped key', ['Impersonate-Extra-acme.com%2fproject', 'x']],
    ['lowercase', ['impersonate-user', 'admin']],
    ['uppercase', ['IMPERSONATE-GROUP', 'system:masters']],
    ['mixed case', ['iMpErSoNaTe-UsEr', 'admin']],
    ['underscores for dashes', ['Impersonate_User', 'admin']],
    ['underscores, mixed case', ['IMPERSONATE_extra_Foo', 'bar']],
    ['an empty value', ['Impersonate-User', '']],
    ['repeated lines', ['Impersonate-Group', 'a', 'Impersonate-Group', 'b']],
    ['duplicates in rawHeaders, differently cased', ['Impersonate-User', 'a', 'IMPERSONATE-USER', 'b']],
    ['after other headers (the last line)', ['Accept', 'application/json', 'User-Agent', 'kubectl', 'Impersonate-Group', 'system:masters']],
    ['between other headers', ['Accept', 'application/json', 'Impersonate-Uid', '0', 'User-Agent', 'kubectl']],
    ['with a valid-looking Authorization', ['Authorization', 'Bearer x', 'Impersonate-User', 'admin']],
  ];

  it.each(variants)('%s: the rewrite refuses the request', (_name, rawHeaders) => {
    const result = upstreamHeaders(rawHeaders, alice, upstreamHost, undefined);
    expect(result).toEqual({ refused: expect.stringMatching(/^impersonate[-_]/i) });
  });

  it.each(variants)('%s: the check admission makes before reading the token finds it', (_name, rawHeaders) => {
    expect(hasImpersonationHeader(rawHeaders)).toBe(true);
  });

  it('names the refused header as the client sent it', () => {
    expect(upstreamHeaders(['Accept', '*/*', 'iMpErSoNaTe-UsEr', 'admin'], alice, upstreamHost, undefined)).toEqual({ refused: 'iMpErSoNaTe-UsEr' });
  });

  it('does not refuse headers that only look alike', () => {
    const rawHeaders = ['X-Impersonate-User', 'admin', 'Impersonate', 'admin', 'Impersonated-By', 'admin'];
    expect(hasImpersonationHeader(rawHeaders)).toBe(false);
    expect(forwarded(rawHeaders)).toMatchObject({ 'x-impersonate-user': 'admin', impersonate: 'admin', 'impersonated-by': 'admin' });
  });
});

describe('the identity sent upstream', () => {
  it('is exactly one Impersonate-User, the verified user', () => {
    const headers = forwarded(['Accept', 'application/json']);
    expect(headers['impersonate-user']).toBe('alice@example.com');
    expect(names(headers).filter((n) => n === 'impersonate-user')).toHaveLength(1);
  });

  it('is one Impersonate-Group line per group, in order', () => {
    expect(forwarded([])['impersonate-group']).toEqual(['devs', 'ops']);
  });

  it('keeps a group with a comma as one group (one line, not split)', () => {
    expect(forwarded([], { identity: { user: 'alice', groups: ['a,b', 'c'] } })['impersonate-group']).toEqual(['a,b', 'c']);
  });

  it('has no Impersonate-Group at all when the identity has no group', () => {
    expect(forwarded([], { identity: { user: 'alice', groups: [] } })).not.toHaveProperty('impersonate-group');
  });

  it('has no other Impersonate-* header (Uid, Extra-*)', () => {
    expect(names(forwarded(['Accept', '*/*'])).filter((n) => n.startsWith('impersonate-'))).toEqual(['impersonate-user', 'impersonate-group']);
  });

  it('is encoded as UTF-8 bytes, which the API server reads back as the same name', () => {
    const headers = forwarded([], { identity: { user: 'zoë@example.com', groups: ['Développeurs'] } });
    const utf8 = (value: string) => Buffer.from(value, 'latin1').toString('utf8');
    expect(utf8(headers['impersonate-user'] as string)).toBe('zoë@example.com');
    expect((headers['impersonate-group'] as string[]).map(utf8)).toEqual(['Développeurs']);
  });

  it('is not removed by a Connection header naming the impersonation or credential headers', () => {
    const headers = forwarded(['Connection', 'Impersonate-User, Impersonate-Group, Authorization, Host'], { token: 'connector-token' });
    expect(headers).toMatchObject({
      'impersonate-user': 'alice@example.com',
      'impersonate-group': ['devs', 'ops'],
      authorization: 'Bearer connector-token',
      host: upstreamHost,
    });
  });
});

describe('the client’s credentials are dropped', () => {
  it('Authorization is never forwarded when the connector uses a client certificate', () => {
    expect(names(forwarded(['Authorization', 'Bearer client-token']))).not.toContain('authorization');
  });

  it('Authorization is replaced by the connector’s own token when it uses one', () => {
    expect(forwarded(['Authorization', 'Bearer client-token'], { token: 'connector-token' }).authorization).toBe('Bearer connector-token');
  });

  it('every Authorization line is dropped, in any case', () => {
    const headers = forwarded(['authorization', 'Bearer one', 'AUTHORIZATION', 'Basic dHdvOnR3bw==', 'Authorization', 'Bearer three'], {
      token: 'connector-token',
    });
    expect(headers.authorization).toBe('Bearer connector-token');
  });

  it('Proxy-Authorization is dropped', () => {
    expect(names(forwarded(['Proxy-Authorization', 'Basic YTpi']))).not.toContain('proxy-authorization');
  });

  it('a bearer token sent as a websocket subprotocol is dropped, the other subprotocols kept', () => {
    const headers = forwarded(['Sec-WebSocket-Protocol', 'v5.channel.k8s.io, base64url.bearer.authorization.k8s.io.c2VjcmV0, portforward.k8s.io']);
    expect(headers['sec-websocket-protocol']).toBe('v5.channel.k8s.io, portforward.k8s.io');
  });

  it('a bearer token subprotocol on a line of its own is dropped, and the header with it when nothing else is left', () => {
    expect(names(forwarded(['Sec-WebSocket-Protocol', 'base64url.bearer.authorization.k8s.io.c2VjcmV0']))).not.toContain('sec-websocket-protocol');
    expect(
      forwarded(['Sec-WebSocket-Protocol', 'v5.channel.k8s.io', 'sec-websocket-protocol', 'base64url.bearer.authorization.k8s.io.eA'])[
        'sec-websocket-protocol'
      ],
    ).toBe('v5.channel.k8s.io');
  });

  it('the first Authorization line is the one admission reads the token from', () => {
    expect(firstHeader(['Accept', '*/*', 'authorization', 'Bearer one', 'Authorization', 'Bearer two'], 'authorization')).toBe('Bearer one');
  });
});

describe('headers that claim an identity or an origin are dropped', () => {
  const dropped = [
    'X-Forwarded-For',
    'X-Forwarded-Host',
    'X-Forwarded-Proto',
    'X-Forwarded-Port',
    'X-Forwarded-Client-Cert',
    'x_forwarded_for',
    'Forwarded',
    'X-Real-IP',
    'X-Remote-User',
    'X-Remote-Group',
    'X-Remote-Uid',
    'X-Remote-Extra-Scopes',
    'x-remote-user',
    'X_REMOTE_GROUP',
  ];

  it.each(dropped)('%s', (name) => {
    const headers = forwarded([name, 'system:masters', 'Accept', 'application/json']);
    expect(names(headers)).not.toContain(name.toLowerCase());
    expect(names(headers)).not.toContain(name.toLowerCase().replaceAll('_', '-'));
    expect(headers.accept).toBe('application/json');
  });
});

describe('hop-by-hop headers', () => {
  const hopByHop = [
    'Connection',
    'Keep-Alive',
    'Proxy-Connection',
    'Proxy-Authenticate',
    'Proxy-Authorization',
    'TE',
    'Trailer',
    'Transfer-Encoding',
    'Upgrade',
  ];

  it.each(hopByHop)('%s is not forwarded on a plain request', (name) => {
    expect(names(forwarded([name, 'x']))).not.toContain(name.toLowerCase());
  });

  it('Host is the API server’s, not the client’s', () => {
    const headers = forwarded(['Host', 'proxy.example.com']);
    expect(headers.host).toBe(upstreamHost);
  });

  it('Expect is not forwarded', () => {
    expect(names(forwarded(['Expect', '100-continue']))).not.toContain('expect');
  });

  it('a header a Connection header names is not forwarded', () => {
    const headers = forwarded(['Connection', 'keep-alive, X-Secret', 'X-Secret', 'hop', 'X-Kept', 'yes']);
    expect(names(headers)).not.toContain('x-secret');
    expect(headers['x-kept']).toBe('yes');
  });

  it('a Connection header’s names are read in any case, with `_` as `-`, from every Connection line', () => {
    const headers = forwarded(['Connection', 'X_ONE', 'connection', ' x-two ,', 'x-one', '1', 'X-Two', '2', 'X_Two', '2', 'X-Three', '3']);
    expect(names(headers)).not.toContain('x-one');
    expect(names(headers)).not.toContain('x-two');
    expect(names(headers)).not.toContain('x_two');
    expect(headers['x-three']).toBe('3');
  });

  it('the API server’s hop-by-hop headers, and those its Connection header names, are not sent back', () => {
    const headers = downstreamHeaders([
      'Connection',
      'keep-alive, X-Hop',
      'Keep-Alive',
      'timeout=5',
      'Transfer-Encoding',
      'chunked',
      'X-Hop',
      'secret',
      'Content-Type',
      'application/json',
    ]);
    expect(headers).toEqual({ 'content-type': 'application/json' });
  });
});

describe('other headers', () => {
  it('are forwarded, repeated lines kept in order', () => {
    const headers = forwarded(['Accept', 'application/json', 'User-Agent', 'kubectl/v1.33', 'accept', 'text/plain', 'Content-Type', 'application/json']);
    expect(headers).toMatchObject({ accept: ['application/json', 'text/plain'], 'user-agent': 'kubectl/v1.33', 'content-type': 'application/json' });
  });

  it('repeated response lines are sent back in order', () => {
    expect(downstreamHeaders(['Warning', '299 - "one"', 'Warning', '299 - "two"'])).toEqual({ warning: ['299 - "one"', '299 - "two"'] });
  });
});

describe('an upgrade (exec, attach, port-forward)', () => {
  const spdyExec = [
    'Connection',
    'Upgrade',
    'Upgrade',
    'SPDY/3.1',
    'X-Stream-Protocol-Version',
    'v4.channel.k8s.io',
    'X-Stream-Protocol-Version',
    'v3.channel.k8s.io',
    'Authorization',
    'Bearer client-token',
  ];

  it('is sent with Connection: Upgrade and the client’s Upgrade, once each', () => {
    const headers = forwarded(spdyExec, { upgrade: 'SPDY/3.1' });
    expect(headers.connection).toBe('Upgrade');
    expect(headers.upgrade).toBe('SPDY/3.1');
  });

  it('keeps every X-Stream-Protocol-Version line, in order', () => {
    expect(forwarded(spdyExec, { upgrade: 'SPDY/3.1' })['x-stream-protocol-version']).toEqual(['v4.channel.k8s.io', 'v3.channel.k8s.io']);
  });

  it('carries the impersonation headers and not the client’s credentials', () => {
    const headers = forwarded(spdyExec, { upgrade: 'SPDY/3.1' });
    expect(headers).toMatchObject({ 'impersonate-user': 'alice@example.com', 'impersonate-group': ['devs', 'ops'] });
    expect(names(headers)).not.toContain('authorization');
  });

  it('keeps a websocket’s handshake headers', () => {
    const headers = forwarded(
      [
        'Connection',
        'Upgrade',
        'Upgrade',
        'websocket',
        'Sec-WebSocket-Key',
        'dGhlIHNhbXBsZSBub25jZQ==',
        'Sec-WebSocket-Version',
        '13',
        'Sec-WebSocket-Protocol',
        'v5.channel.k8s.io',
      ],
      { upgrade: 'websocket' },
    );
    expect(headers).toMatchObject({
      connection: 'Upgrade',
      upgrade: 'websocket',
      'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
      'sec-websocket-version': '13',
      'sec-websocket-protocol': 'v5.channel.k8s.io',
    });
  });

  it('is refused for an Impersonate-* header like any request', () => {
    expect(upstreamHeaders([...spdyExec, 'Impersonate-Group', 'system:masters'], alice, upstreamHost, undefined, 'SPDY/3.1')).toEqual({
      refused: 'Impersonate-Group',
    });
  });
});

describe('system: names (dropped at admission, before the headers are made)', () => {
  const issuer = 'https://hub.example.com';
  const destination = 'production';

  /** What the API server is sent for a token with this subject and these groups: the headers, or why the proxy refused. */
  async function sentFor(subject: string, groups: string[]): Promise<RequestHeaders | { refused: string }> {
    const key = await generateSigningKey();
    const admit = createAdmission({
      destination,
      issuer,
      keys: createLocalJWKSet(publicJwks([key])),
      clockToleranceSec: 30,
      logger: createLogger('headers-test', 'silent'),
      failures: new Counter({ name: 'failures', help: 'failures', labelNames: ['reason'], registers: [new Registry()] }),
    });
    const { token } = await issueToken({ keys: key, issuer, audience: destination, subject, groups });
    const req = { method: 'GET', url: '/api', rawHeaders: ['Authorization', `Bearer ${token}`] } as unknown as IncomingMessage;
    const admitted = await admit(req, 'request');
    if ('refused' in admitted) return admitted;
    return upstreamHeaders(req.rawHeaders, admitted, upstreamHost, undefined);
  }

  it('a system: group in a token is not impersonated; the other groups are', async () => {
    const sent = await sentFor('alice@example.com', ['system:masters', 'devs', 'system:nodes']);
    expect(sent).toMatchObject({ headers: { 'impersonate-group': ['devs'] } });
  });

  it('a token whose only group is a system: one impersonates no group', async () => {
    const sent = await sentFor('alice@example.com', ['system:masters']);
    expect(sent).toHaveProperty('headers');
    expect(sent).not.toHaveProperty(['headers', 'impersonate-group']);
  });

  it('a repeated group is impersonated once', async () => {
    expect(await sentFor('alice@example.com', ['devs', 'devs'])).toMatchObject({ headers: { 'impersonate-group': ['devs'] } });
  });

  it('a system: subject is refused', async () => {
    expect(await sentFor('system:admin', ['devs'])).toEqual({ refused: 'unauthenticated' });
  });
});
