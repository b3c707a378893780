// JSON requests to the Kubernetes API for the controllers' write paths, on a KubeConfig's
// credentials and pooled connection (lib/kube.ts). client-node's generated API spends
// ~1 ms of CPU on each call (its ObjectSerializer, a middleware chain and WHATWG fetch
// over undici); undici.request, which that fetch runs on, ~0.3 ms. A connector's first
// sync makes thousands of such calls, and its CPU was what limited it
// (docs/adr/0006-rest-writes.md). Failures are client-node's ApiException, so statusCode()
// and every caller treat both kinds of call alike, with a message of one line.
import { ApiException, HttpMethod, RequestContext, type KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import { request, type Dispatcher } from 'undici';

const json = 'application/json';
const applyPatch = 'application/apply-patch+yaml';

/**
 * Past this, a write's answer is not drained but its connection closed (undici's dump). An
 * object the API server returns is at most a few MiB (etcd stores up to 1.5 MiB).
 */
const maxDrainedBytes = 64 * 1024 * 1024;

/** One request: method, path, query, JSON body and its content type. */
type Call = [method: HttpMethod, path: string, query?: Record<string, string>, body?: object, contentType?: string];

export class RestClient {
  readonly #kubeConfig: KubeConfig;
  readonly #server: string;

  constructor(kubeConfig: KubeConfig) {
    const server = kubeConfig.getCurrentCluster()?.server;
    if (!server) throw new Error('the kubeconfig has no current cluster with a server URL');
    this.#kubeConfig = kubeConfig;
    this.#server = server.replace(/\/+$/, '');
  }

  /** POSTs a new object to a collection; fails with 409 when its name is taken. */
  async create(collection: string, body: object, fieldManager: string): Promise<void> {
    await this.#write(HttpMethod.POST, collection, { fieldManager }, body, json);
  }

  /** Server-side apply: this field manager's fields of the object, taken over from others (force). */
  async apply(path: string, body: object, fieldManager: string): Promise<void> {
    await this.#write(HttpMethod.PATCH, path, { fieldManager, force: 'true' }, body, applyPatch);
  }

  /** POSTs to a path that answers with an object (a subresource such as serviceaccounts/token). */
  async post<T>(path: string, body: object): Promise<T> {
    return JSON.parse(await this.#request(HttpMethod.POST, path, {}, body, json)) as T;
  }

  /** A JSON merge patch; with metadata.resourceVersion in it, refused (409) when the object changed since. */
  async mergePatch(path: string, body: object): Promise<void> {
    await this.#write(HttpMethod.PATCH, path, {}, body, 'application/merge-patch+json');
  }

  async get<T>(path: string): Promise<T> {
    return JSON.parse(await this.#request(HttpMethod.GET, path)) as T;
  }

  /**
   * One page of a collection, as an informer lists it. Unlike client-node's fetch it asks
   * for no compression: the API server gzips every large list and the client inflates it,
   * CPU on both sides that a fast link does not pay back (docs/adr/0023-connector-cold-sync.md).
   */
  async list<T extends KubernetesObject>(
    collection: string,
    page: { limit: number; _continue?: string; labelSelector?: string; fieldSelector?: string },
  ): Promise<KubernetesListObject<T>> {
    const { _continue, limit, labelSelector, fieldSelector } = page;
    const query = {
      limit: String(limit),
      ...(labelSelector ? { labelSelector } : {}),
      ...(fieldSelector ? { fieldSelector } : {}),
      ...(_continue ? { continue: _continue } : {}),
    };
    return JSON.parse(await this.#request(HttpMethod.GET, collection, query)) as KubernetesListObject<T>;
  }

  /**
   * Deletes the object; with preconditions, only while it still has that uid and
   * resourceVersion (409 Conflict once anyone changed it since it was read).
   */
  async delete(path: string, preconditions?: { uid?: string; resourceVersion?: string }): Promise<void> {
    const body = preconditions ? { apiVersion: 'v1', kind: 'DeleteOptions', preconditions } : undefined;
    await this.#write(HttpMethod.DELETE, path, {}, body, body ? json : undefined);
  }

  /** The response body of a 2xx answer, as text. */
  async #request(...call: Call): Promise<string> {
    return (await this.#send(...call)).text();
  }

  /**
   * A write whose answer nobody reads: the body (the whole object, managedFields and all) is
   * drained as it arrives and never decoded. A cold sync makes thousands of writes, and
   * decoding each answer into a string of garbage raised the connector's peak RSS by ~9 MiB
   * (bench/README.md).
   */
  async #write(...call: Call): Promise<void> {
    await (await this.#send(...call)).dump({ limit: maxDrainedBytes });
  }

  /** Sends one request; returns the body of a 2xx answer, throws a KubeAPIError with the API's Status for any other. */
  async #send(...[method, path, query = {}, body, contentType]: Call): Promise<Dispatcher.ResponseData['body']> {
    const url = `${this.#server}${path}${Object.keys(query).length > 0 ? `?${new URLSearchParams(query)}` : ''}`;
    // Credentials per request, as client-node applies them: tokens from files and exec
    // plugins are refreshed there; the dispatcher is the KubeConfig's pooled one.
    const context = new RequestContext(url, method);
    await this.#kubeConfig.applySecurityAuthentication(context);
    const headers: Record<string, string> = { ...context.getHeaders(), accept: json };
    if (contentType) headers['content-type'] = contentType;
    const dispatcher = context.getDispatcher();
    const res = await request(url, { method, headers, ...(body ? { body: JSON.stringify(body) } : {}), ...(dispatcher ? { dispatcher } : {}) });
    if (res.statusCode >= 200 && res.statusCode < 300) return res.body;
    const text = await res.body.text();
    const responseHeaders = Object.fromEntries(Object.entries(res.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : (v ?? '')]));
    throw new KubeAPIError(`${method} ${path}`, res.statusCode, text, responseHeaders);
  }
}

interface Status {
  reason?: string;
  message?: string;
}

/**
 * A call the API server refused. An ApiException, so statusCode() reads it, but its
 * message is one line a log can carry: `POST <path>: 409 AlreadyExists: <the API's message>`
 * (client-node's own spans the body and every response header).
 */
export class KubeAPIError extends ApiException<Status | string> {
  constructor(call: string, code: number, text: string, headers: Record<string, string>) {
    const status = parseStatus(text);
    super(code, call, status, headers);
    this.name = 'KubeAPIError';
    this.message =
      typeof status === 'string'
        ? `${call}: ${code}: ${status.trim() || '(no body)'}`
        : `${call}: ${code}${status.reason ? ` ${status.reason}` : ''}: ${status.message ?? text}`;
  }
}

/** The API's Status object when the body is one, else the text as it came. */
function parseStatus(text: string): Status | string {
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'object' && parsed !== null ? parsed : text;
  } catch {
    return text;
  }
}

/** `/apis/<group>/<version>[/namespaces/<namespace>]/<plural>[/<name>]` (a named API group), the names encoded. */
export function resourcePath(group: string, version: string, plural: string, namespace?: string, name?: string): string {
  return `/apis/${group}/${version}${namespace ? `/namespaces/${encodeURIComponent(namespace)}` : ''}/${plural}${name ? `/${encodeURIComponent(name)}` : ''}`;
}
