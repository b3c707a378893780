import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { publicClientAddress, trustedProxyProblem } from './client-address.ts';

const request = (peer: string, forwardedFor?: string) => {
  const socket = { remoteAddress: peer };
  return { socket, connection: socket, headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor } } as unknown as IncomingMessage;
};

describe('publicClientAddress', () => {
  it('is the peer address when no proxy is trusted, whatever X-Forwarded-For says', () => {
    expect(publicClientAddress([])(request('198.51.100.7', '203.0.113.1'))).toBe('198.51.100.7');
  });

  it('is the forwarded address when the peer is a trusted proxy', () => {
    expect(publicClientAddress(['10.0.0.0/8'])(request('10.1.2.3', '203.0.113.1'))).toBe('203.0.113.1');
  });

  it('reads X-Forwarded-For from the right, up to the first hop not trusted: a client cannot prepend its own choice', () => {
    const address = publicClientAddress(['10.0.0.0/8']);
    expect(address(request('10.1.2.3', '192.0.2.66, 203.0.113.1'))).toBe('203.0.113.1');
    expect(address(request('10.1.2.3', '203.0.113.1, 10.9.9.9'))).toBe('203.0.113.1');
  });

  it('ignores X-Forwarded-For from a peer that is not a trusted proxy', () => {
    expect(publicClientAddress(['10.0.0.0/8'])(request('198.51.100.7', '203.0.113.1'))).toBe('198.51.100.7');
  });
});

describe('trustedProxyProblem', () => {
  it('accepts addresses, CIDR ranges and the named ranges', () => {
    for (const entry of ['10.0.0.1', '10.0.0.0/8', 'fd00::/8', 'loopback', 'uniquelocal']) expect(trustedProxyProblem(entry)).toBeUndefined();
  });

  it('says what is wrong with anything else, and what to write', () => {
    expect(trustedProxyProblem('10.0.0.0/33')).toMatch(/invalid range on address: 10.0.0.0\/33: write an IP address or a CIDR range, e.g. 10.0.0.0\/8/);
    expect(trustedProxyProblem('my-lb')).toMatch(/invalid IP address: my-lb/);
  });
});
