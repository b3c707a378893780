// Who a request comes from, for the limits that count per client: the public door's rate
// limit and the password lockout's address count. Behind a load balancer or an ingress
// every peer address is the proxy's, so one person's failures would lock out everyone;
// from the proxies the config names (trustedProxies), the address they forwarded in
// X-Forwarded-For is taken instead, read from the right up to the first hop not trusted,
// so a client cannot choose its own address by sending the header itself.
import proxyaddr from 'proxy-addr';
import type { ClientAddress } from '../http/caller.ts';

/** The client's address at the public door. */
export function publicClientAddress(trustedProxies: readonly string[]): ClientAddress {
  if (trustedProxies.length === 0) return (req) => req.socket.remoteAddress ?? '';
  const trusted = proxyaddr.compile([...trustedProxies]);
  return (req) => proxyaddr(req, trusted);
}

/**
 * Why an entry of trustedProxies cannot be used (an IP address, a CIDR range, or one of
 * proxy-addr's names: loopback, linklocal, uniquelocal), or undefined when it can.
 */
export function trustedProxyProblem(entry: string): string | undefined {
  try {
    proxyaddr.compile(entry);
    return undefined;
  } catch (err) {
    return `${(err as Error).message}: write an IP address or a CIDR range, e.g. 10.0.0.0/8, or loopback`;
  }
}
