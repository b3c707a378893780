// What the connector's main thread and its proxy thread (thread.ts, thread-worker.ts) say to
// each other: the thread's start-up data and the messages either side posts. Everything
// here crosses a MessagePort, so it is plain data (structured clone): no functions, no
// class instances.
import type { AddressInfo } from 'node:net';
import type { JSONWebKeySet } from 'jose';
import type { PemPair } from '../../lib/pki.ts';
import type { UpstreamOptions } from './upstream.ts';

/** The proxy thread's workerData. */
export interface ProxyThreadData {
  destination: string;
  issuer: string;
  /** The operator's signing keys, when the main thread holds them yet. */
  keys?: RelayedKeys;
  /** The API server and the connector's credentials for it; a rotating token is asked of the main thread. */
  upstream: Omit<UpstreamOptions, 'token'> & { token?: string; tokenFromMainThread: boolean };
  tls: PemPair;
  listen: { host?: string; port: number };
  logLevel: string;
}

/** The operator's signing keys as the main thread fetched them, and their version (jwks.ts). */
export interface RelayedKeys {
  jwks: JSONWebKeySet;
  version: number;
}

/** From the main thread to the proxy thread. */
export type ToProxyThread =
  | ({ type: 'keys' } & RelayedKeys)
  | { type: 'refetched-keys'; id: number; fresh: boolean }
  | { type: 'certificate'; pair: PemPair }
  | { type: 'metrics'; id: number }
  | { type: 'token'; id: number; token?: string; error?: string }
  | { type: 'stop' };

/** From the proxy thread to the main thread. */
export type FromProxyThread =
  | { type: 'listening'; address: AddressInfo }
  | { type: 'refetch-keys'; id: number }
  | { type: 'metrics'; id: number; text?: string; error?: string }
  | { type: 'token'; id: number };

/** Questions one side asks the other, each answered by a message with its id. */
export class PendingAnswers<T> {
  #nextId = 1;
  readonly #waiting = new Map<number, { resolve: (value: T) => void; reject: (error: Error) => void }>();

  /** Sends the question (with its id) and resolves with its answer. */
  ask(send: (id: number) => void): Promise<T> {
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      send(id);
    });
  }

  /** Settles the question with this id: with its value, or with the error the other side reported. */
  answer(id: number, result: { value: T } | { error: string }): void {
    const waiting = this.#waiting.get(id);
    if (!waiting) return;
    this.#waiting.delete(id);
    if ('error' in result) waiting.reject(new Error(result.error));
    else waiting.resolve(result.value);
  }

  /** Rejects every question still unanswered: the other side is gone. */
  abandon(error: Error): void {
    for (const { reject } of this.#waiting.values()) reject(error);
    this.#waiting.clear();
  }
}
