// A small HTTPS client for tests that need what fetch cannot easily do: a private CA,
// client certificates, and headers a real client would never send.
import { request, type Agent } from 'node:https';

export interface HttpsOptions {
  method?: string;
  /** A keep-alive agent (with its own CA and client certificate), for load loops. */
  agent?: Agent;
  ca?: string;
  cert?: string;
  key?: string;
  headers?: Record<string, string | string[]>;
  body?: unknown;
  /** The client's own address, e.g. 127.0.0.2: another source on loopback. */
  localAddress?: string;
  /** Skip verifying the server's certificate, as a scraper does with a listener's self-issued one. */
  skipVerify?: boolean;
}

export interface HttpsResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json<T = Record<string, unknown>>(): T;
}

export function https(url: string, options: HttpsOptions = {}): Promise<HttpsResponse> {
  const body = options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: options.method ?? (body === undefined ? 'GET' : 'POST'),
        agent: options.agent,
        ca: options.ca,
        cert: options.cert,
        key: options.key,
        headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...options.headers },
        timeout: 10_000,
        ...(options.localAddress ? { localAddress: options.localAddress } : {}),
        ...(options.skipVerify ? { rejectUnauthorized: false } : {}),
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: <T>() => JSON.parse(text) as T }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`request to ${url} timed out`)));
    req.on('error', reject);
    req.end(body);
  });
}
