// What a request through the proxy does, read from its method and path the way the
// kube-apiserver reads it for authorization and its own audit log (k8s.io/apiserver
// pkg/endpoints/request/requestinfo.go, NewRequestInfo, v1.36): the verb (get, list,
// watch, create, deletecollection...) and, for a resource request, the object it names.
// The proxy's audit line and the spoke's own then say the same thing about one request.
import type { AuditObjectRef } from '../../lib/audit.ts';

export interface RequestInfo {
  verb: string;
  /** Absent for a non-resource request (/healthz, /version, /apis discovery). */
  objectRef?: AuditObjectRef;
}

const apiPrefixes = new Set(['api', 'apis']);
/** The core group's prefix: /api/v1/... names no group. */
const grouplessPrefix = 'api';
/** Verbs once sent as a path prefix: /api/v1/watch/namespaces/x/pods. */
const specialVerbs = new Set(['proxy', 'watch']);
/** Subresources of a namespace itself: /api/v1/namespaces/x/status is the namespace's status, not a resource "status" in it. */
const namespaceSubresources = new Set(['status', 'finalize']);

const methodVerbs: Record<string, string> = { POST: 'create', GET: 'get', HEAD: 'get', PUT: 'update', PATCH: 'patch', DELETE: 'delete' };

/** The path's segments between its leading and trailing slashes, each unescaped (the API server's splitPath). */
function segments(pathname: string): string[] {
  let start = 0;
  let end = pathname.length;
  while (start < end && pathname[start] === '/') start++;
  while (end > start && pathname[end - 1] === '/') end--;
  if (start === end) return [];
  const parts = pathname.slice(start, end).split('/');
  for (let i = 0; i < parts.length; i++) if (parts[i]!.includes('%')) parts[i] = unescaped(parts[i]!);
  return parts;
}

function unescaped(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment; // malformed escapes: the API server will refuse the request; the line still names it
  }
}

/** True unless a `watch` parameter is present and false (the API server's boolean query parameter). */
function isWatch(query: URLSearchParams): boolean {
  const watch = query.get('watch');
  if (watch === null) return false;
  return !['false', '0'].includes(watch.toLowerCase());
}

/** The name a list's fieldSelector requires exactly (`metadata.name=x` or `==x`): the API server records it as the name. */
function nameFromFieldSelector(query: URLSearchParams): string | undefined {
  const selector = query.get('fieldSelector');
  if (selector === null) return undefined;
  for (const term of selector.split(',')) {
    const match = /^\s*metadata\.name\s*==?\s*(.*?)\s*$/.exec(term);
    if (match?.[1] && !/[/%]/.test(match[1]) && match[1] !== '.' && match[1] !== '..') return match[1];
  }
  return undefined;
}

/**
 * The verb and object of a request, as the kube-apiserver's RequestInfo reads them.
 * `target` is the request's path and query as sent (an origin-form request target), split
 * at its first `?` as Go's url.ParseRequestURI splits it: no dot segments resolved, no
 * fragment (a WHATWG URL would resolve the first and strip the second).
 */
export function requestInfo(method: string, target: string): RequestInfo {
  const queryAt = target.indexOf('?');
  const pathname = queryAt === -1 ? target : target.slice(0, queryAt);
  const nonResource = { verb: method.toLowerCase() };
  const parts = segments(pathname);
  // Read with an index rather than sliced: this runs for every request through the proxy.
  let at = 1;
  if (parts.length < 3 || !apiPrefixes.has(parts[0]!)) return nonResource;
  let apiGroup = '';
  if (parts[0] !== grouplessPrefix) {
    if (parts.length < 4) return nonResource;
    apiGroup = parts[at++]!;
  }
  const apiVersion = parts[at++]!;

  let verb: string;
  if (specialVerbs.has(parts[at]!)) {
    // /apis/g/v/watch alone names no resource: the API server refuses it; record what it was.
    if (parts.length - at < 2) return nonResource;
    verb = parts[at++]!;
  } else {
    verb = methodVerbs[method.toUpperCase()] ?? '';
  }

  let namespace: string | undefined;
  if (parts[at] === 'namespaces' && parts.length - at > 1) {
    namespace = parts[at + 1];
    if (parts.length - at > 2 && !namespaceSubresources.has(parts[at + 2]!)) at += 2;
  }

  const resource = parts[at];
  let name = parts[at + 1];
  const objectSubresource = parts.length - at >= 3 && verb !== 'proxy' ? parts[at + 2] : undefined;
  if (name === undefined && verb === 'get') {
    const params = new URLSearchParams(queryAt === -1 ? '' : target.slice(queryAt + 1));
    verb = isWatch(params) ? 'watch' : 'list';
    name = nameFromFieldSelector(params);
  }
  if (name === undefined && verb === 'delete') verb = 'deletecollection';

  const objectRef: AuditObjectRef = {};
  if (resource !== undefined) objectRef.resource = resource;
  if (namespace !== undefined) objectRef.namespace = namespace;
  if (name !== undefined) objectRef.name = name;
  // The core group is "": the API server's log leaves it out, and so does this.
  if (apiGroup !== '') objectRef.apiGroup = apiGroup;
  objectRef.apiVersion = apiVersion;
  if (objectSubresource !== undefined) objectRef.subresource = objectSubresource;
  return { verb, objectRef };
}
