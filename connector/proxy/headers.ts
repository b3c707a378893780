// The proxy's header rewriting: what a client's request headers become on their way to
// the API server, and the API server's response headers on their way back.
//
// The most security-critical part of the connector, kept apart from every socket so it
// can be read and tested on its own (headers.test.ts): pure functions of the headers and
// the verified identity, no I/O. The rules: a client never chooses who it is (any
// `Impersonate-*` header is refused); the client's credentials and anything that claims an
// identity or an origin are dropped, with the hop-by-hop headers; the API server is sent
// exactly one `Impersonate-User` and one `Impersonate-Group` per group.
//
// Read straight from rawHeaders (name, value, name, value…, as sent): Node's `headers` and
// `headersDistinct` objects are built on first use, and building them for the request and
// the response, then copying them, was the largest part of the proxy's own CPU per request
// (bench/README.md). A few short scans of the array cost less than one of those objects.
import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';

/** Who a request is forwarded as: what its token says, once verified. */
export interface Identity {
  user: string;
  groups: string[];
}

/** Header names are compared lowercased, with `_` read as `-`, as some servers and proxies do. */
function normalizedName(name: string): string {
  return dashed(name.toLowerCase());
}

/** A lowercased header name with `_` as `-`. */
function dashed(lower: string): string {
  return lower.includes('_') ? lower.replaceAll('_', '-') : lower;
}

/** True when the client sent any `Impersonate-*` header (User, Group, Uid, Extra-*), in any case. */
export function hasImpersonationHeader(rawHeaders: readonly string[]): boolean {
  for (let i = 0; i < rawHeaders.length; i += 2) if (normalizedName(rawHeaders[i]!).startsWith('impersonate-')) return true;
  return false;
}

/** The first value of a header (lowercase `name`), as Node's `headers` keeps for Authorization. */
export function firstHeader(rawHeaders: readonly string[], name: string): string | undefined {
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) if (rawHeaders[i]!.toLowerCase() === name) return rawHeaders[i + 1];
  return undefined;
}

/** The tokens of every Connection header, lowercased: headers the sender means for this hop only. */
function connectionTokens(rawHeaders: readonly string[]): string[] {
  const tokens: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.toLowerCase() !== 'connection') continue;
    for (const token of rawHeaders[i + 1]!.split(',')) {
      const name = normalizedName(token.trim());
      if (name !== '') tokens.push(name);
    }
  }
  return tokens;
}

/** Adds a header line to `out`: a second line with the same name makes the value a list, kept in order. */
function addHeader(out: OutgoingHttpHeaders, name: string, value: string): void {
  const previous = out[name];
  if (previous === undefined) out[name] = value;
  else if (Array.isArray(previous)) previous.push(value);
  else out[name] = [String(previous), value];
}

const hopByHop = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/**
 * Request headers never forwarded: hop-by-hop ones, the client's credentials and anything
 * that claims an identity or an origin. `n`: the name lowercased, with `_` as `-`.
 * (`Impersonate-*` is not dropped but refused: upstreamHeaders.)
 */
function droppedRequestHeader(n: string, hopTokens: readonly string[]): boolean {
  return (
    hopByHop.has(n) ||
    hopTokens.includes(n) ||
    n === 'host' ||
    n === 'expect' ||
    n === 'authorization' ||
    n === 'forwarded' ||
    n === 'x-real-ip' ||
    n.startsWith('x-forwarded-') ||
    n.startsWith('x-remote-') // the API server's request-header authentication
  );
}

/** The kube-apiserver also authenticates websockets by a bearer token sent as a subprotocol: never forward one. */
const websocketTokenProtocol = 'base64url.bearer.authorization.k8s.io.';

/** The headers to send upstream, or the refusal of a request whose client tried to choose who it is (`refused`: the header's name as sent). */
export type RequestHeaders = { headers: OutgoingHttpHeaders } | { refused: string };

/**
 * The headers sent upstream: the client's, minus everything droppedRequestHeader names,
 * plus exactly one Impersonate-User and one Impersonate-Group per group, the connector's
 * own Authorization when it uses a token, and for an upgrade (`upgrade`: the client's
 * Upgrade header) `Connection: Upgrade` with that Upgrade. Refused instead when the client
 * sent any `Impersonate-*` header (the proxy's admission refuses those first, before the
 * token is even read; the rule is kept here too, where the headers are made).
 */
export function upstreamHeaders(
  rawHeaders: readonly string[],
  identity: Identity,
  upstreamHost: string,
  token: string | undefined,
  upgrade?: string,
): RequestHeaders {
  const hopTokens = connectionTokens(rawHeaders);
  const out: OutgoingHttpHeaders = {};
  const protocols: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    const normalized = dashed(name);
    if (normalized.startsWith('impersonate-')) return { refused: rawHeaders[i]! };
    if (droppedRequestHeader(normalized, hopTokens)) continue;
    const value = rawHeaders[i + 1]!;
    if (name === 'sec-websocket-protocol') {
      for (const protocol of value.split(',')) {
        const p = protocol.trim();
        if (p !== '' && !p.startsWith(websocketTokenProtocol)) protocols.push(p);
      }
      continue;
    }
    addHeader(out, name, value);
  }
  if (protocols.length > 0) out['sec-websocket-protocol'] = protocols.join(', ');
  out.host = upstreamHost;
  if (token !== undefined) out.authorization = `Bearer ${token}`;
  out['impersonate-user'] = headerValue(identity.user);
  if (identity.groups.length > 0) out['impersonate-group'] = identity.groups.map(headerValue);
  if (upgrade !== undefined) {
    out.connection = 'Upgrade';
    out.upgrade = upgrade;
  }
  return { headers: out };
}

/**
 * Node writes header strings as latin1, one byte per character; the API server reads the
 * bytes as UTF-8. Encoding first makes a name like "Zoë" arrive as itself.
 */
function headerValue(value: string): string {
  return ascii.test(value) ? value : Buffer.from(value, 'utf8').toString('latin1');
}

/** A string every byte encoding writes the same: most names, and most groups. */
const ascii = /^[\p{ASCII}]*$/u;

/** Response headers from upstream, without hop-by-hop ones (Node frames the body itself). */
export function downstreamHeaders(rawHeaders: readonly string[]): OutgoingHttpHeaders {
  const hopTokens = connectionTokens(rawHeaders);
  const out: OutgoingHttpHeaders = {};
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    if (hopByHop.has(name) || hopTokens.includes(dashed(name))) continue;
    addHeader(out, name, rawHeaders[i + 1]!);
  }
  return out;
}

/** What of a request's target is logged: the path only, as a query may carry anything (label selectors, exec commands). */
export function pathOf(req: IncomingMessage): string {
  return (req.url ?? '').split('?')[0]!;
}
