// The connector's proxy runs in a worker thread of its own (docs/adr/0032-proxy-thread.md):
// its own event loop, its own V8 isolate and heap. The main thread's controllers then
// neither hold up a request (a cold sync parses tens of MiB of Grants on the main event
// loop) nor share their optimized code with it: Node's HTTP server, streams and sockets
// are one copy per isolate, and in one isolate the health and metrics endpoints, the
// Kubernetes clients and the proxy fed that code mixed type feedback, so each connector
// process ended up with its own, slower, optimized proxy path (bench/README.md, sessions
// 34 and 35).
//
// The thread owns what only the proxy uses (thread-worker.ts); the main thread keeps the
// rest and talks to it by message: the operator's signing keys it fetches (and fetches
// again when a token names a key the thread does not hold), the serving certificate it
// renews, a rotating upstream token, the metrics for a scrape.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { createSecureContext } from 'node:tls';
import { setFlagsFromString } from 'node:v8';
import { Worker } from 'node:worker_threads';
import { errorMessage } from '../../lib/errors.ts';
import type { Logger } from '../../lib/log.ts';
import { proxyThreadV8Flags } from '../../lib/node-flags.ts';
import type { PemPair } from '../../lib/pki.ts';
import type { JwksCache } from './jwks.ts';
import { PendingAnswers, type FromProxyThread, type ProxyThreadData, type ToProxyThread } from './thread-protocol.ts';
import type { UpstreamOptions } from './upstream.ts';

/** The thread's script beside the bundle (hack/build.ts); from source, thread-worker.ts. */
declare const INFRA_PROXY_THREAD_ENTRY: string | undefined;
const threadEntry = new URL(typeof INFRA_PROXY_THREAD_ENTRY === 'string' ? INFRA_PROXY_THREAD_ENTRY : './thread-worker.ts', import.meta.url);

/** The proxy thread's name: what `top -H`, `perf` and /proc/<pid>/task/<tid>/comm show for it. */
export const proxyThreadName = 'infra-proxy';

/** How long a stopping thread may take to close its connections before it is terminated. */
const stopTimeoutMs = 10_000;

export interface ProxyThreadOptions {
  /** This destination's name: the `aud` every accepted token must carry. */
  destination: string;
  /** The operator's URL: the `iss` every accepted token must carry. */
  issuer: string;
  /** The operator's signing keys, fetched by the main thread; the thread gets a copy whenever they change. */
  keys: JwksCache;
  upstream: UpstreamOptions;
  /** The proxy's serving certificate and key. */
  tls: PemPair;
  listen: { host?: string; port: number };
  logger: Logger;
  /** Told when the thread ends without having been stopped: an error it did not handle. */
  onFailure: (error: Error) => void;
}

export class ProxyThread {
  readonly #worker: Worker;
  readonly #options: ProxyThreadOptions;
  readonly #metrics = new PendingAnswers<string>();
  #address: AddressInfo | undefined;
  #stopping = false;
  #exited = false;

  private constructor(worker: Worker, options: ProxyThreadOptions) {
    this.#worker = worker;
    this.#options = options;
  }

  /** Starts the thread; resolves once the proxy listens, rejects if the thread fails first. */
  static async start(options: ProxyThreadOptions): Promise<ProxyThread> {
    const { token, ...upstream } = options.upstream;
    const keys = options.keys.current;
    const data: ProxyThreadData = {
      destination: options.destination,
      issuer: options.issuer,
      ...(keys ? { keys } : {}),
      upstream: { ...upstream, ...(typeof token === 'string' ? { token } : {}), tokenFromMainThread: typeof token === 'function' },
      tls: options.tls,
      listen: options.listen,
      logLevel: options.logger.level,
    };
    // Read by V8 when the thread creates its isolate; the main thread's heap is already made.
    for (const flag of proxyThreadV8Flags) setFlagsFromString(flag);
    const thread = new ProxyThread(new Worker(threadEntry, { workerData: data, name: proxyThreadName }), options);
    // Subscribed in the same turn as the keys were read: no change can fall in between.
    const unsubscribe = options.keys.onChange((jwks, version) => thread.#post({ type: 'keys', jwks, version }));
    thread.#worker.once('exit', unsubscribe);
    await thread.#listening();
    return thread;
  }

  /** Where the proxy listens. */
  get address(): AddressInfo {
    return this.#address!;
  }

  /** Puts a renewed serving certificate in use; throws, keeping the old one, if the pair is not one. */
  useCertificate(pair: PemPair): void {
    createSecureContext({ cert: pair.cert, key: pair.key });
    this.#post({ type: 'certificate', pair });
  }

  /** The proxy's metrics, in the Prometheus text format. */
  metrics(): Promise<string> {
    if (this.#exited) return Promise.reject(new Error('the proxy thread has ended'));
    return this.#metrics.ask((id) => this.#post({ type: 'metrics', id }));
  }

  /** Stops accepting, ends every connection, and waits for the thread to end. */
  async stop(): Promise<void> {
    if (this.#exited) return;
    this.#stopping = true;
    const exited = once(this.#worker, 'exit');
    this.#post({ type: 'stop' });
    const timer = setTimeout(() => void this.#worker.terminate(), stopTimeoutMs);
    await exited;
    clearTimeout(timer);
  }

  #post(message: ToProxyThread): void {
    this.#worker.postMessage(message);
  }

  /** Wires the thread's messages and its end; resolves with the proxy's address once it listens. */
  #listening(): Promise<void> {
    const worker = this.#worker;
    let failure: Error | undefined;
    return new Promise<void>((resolve, reject) => {
      worker.on('message', (message: FromProxyThread) => {
        switch (message.type) {
          case 'listening':
            this.#address = message.address;
            resolve();
            break;
          case 'refetch-keys':
            void this.#options.keys.refetchForUnknownKey().then((fresh) => this.#post({ type: 'refetched-keys', id: message.id, fresh }));
            break;
          case 'metrics':
            this.#metrics.answer(message.id, message.text !== undefined ? { value: message.text } : { error: message.error ?? 'no metrics' });
            break;
          case 'token':
            this.#answerToken(message.id);
            break;
        }
      });
      worker.on('error', (error: Error) => {
        failure = error;
      });
      worker.on('exit', (code) => {
        this.#exited = true;
        const error = failure ?? new Error(`the proxy thread exited with code ${code}`);
        this.#metrics.abandon(error);
        if (this.#address === undefined) reject(error);
        else if (!this.#stopping) this.#options.onFailure(error);
      });
    });
  }

  /** The thread asks only when its upstream token is a function (start() says so in its data). */
  #answerToken(id: number): void {
    const token = this.#options.upstream.token;
    if (typeof token !== 'function') return this.#post({ type: 'token', id, error: 'the connector has no rotating token for the API server' });
    Promise.resolve(token()).then(
      (value) => this.#post({ type: 'token', id, token: value }),
      (error: unknown) => this.#post({ type: 'token', id, error: errorMessage(error) }),
    );
  }
}
