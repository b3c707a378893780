// The connector's proxy thread: serves the authenticating proxy (server.ts) in an isolate
// of its own, beside the main thread's controllers (thread.ts says why). It owns the
// connection pool to the API server, the proxy's metrics, and its log and audit lines,
// which it writes to the process's stdout itself (lib/stdout-lines.ts). The operator's
// signing keys are fetched by the main thread and copied here, so this thread loads no
// HTTP client but Node's.
import { parentPort, workerData } from 'node:worker_threads';
import { Registry } from 'prom-client';
import { destinationLabel } from '../../api/grants.ts';
import { createAuditLog } from '../../lib/audit.ts';
import { errorMessage } from '../../lib/errors.ts';
import { createLogger } from '../../lib/log.ts';
import { stdoutLines } from '../../lib/stdout-lines.ts';
import { RelayedKeySet } from './key-set.ts';
import { createProxyServer } from './server.ts';
import { PendingAnswers, type FromProxyThread, type ProxyThreadData, type ToProxyThread } from './thread-protocol.ts';
import { reusedFor, tokenReuseMs, type UpstreamOptions } from './upstream.ts';

if (!parentPort) throw new Error('thread-worker.ts runs as the connector proxy thread (connector/proxy/thread.ts), not on its own');
const port = parentPort;
const data = workerData as ProxyThreadData;
const post = (message: FromProxyThread) => port.postMessage(message);

const logger = createLogger('infra-connector', data.logLevel).child({ destination: data.destination });
const registry = new Registry();

const refetches = new PendingAnswers<boolean>();
const keys = new RelayedKeySet(() => refetches.ask((id) => post({ type: 'refetch-keys', id })));
if (data.keys) keys.update(data.keys.jwks, data.keys.version);

const tokens = new PendingAnswers<string>();
/** The main thread's current token for the API server, asked for as often as the main thread reads it anew. */
const tokenFromMainThread = reusedFor(tokenReuseMs, () => tokens.ask((id) => post({ type: 'token', id })));

const { tokenFromMainThread: askForToken, token, ...upstreamRest } = data.upstream;
const upstream: UpstreamOptions = { ...upstreamRest, ...(askForToken ? { token: tokenFromMainThread } : token ? { token } : {}) };
const proxy = createProxyServer({
  tls: data.tls,
  destination: data.destination,
  issuer: data.issuer,
  keys,
  upstream,
  logger,
  audit: createAuditLog('infra-connector', { annotations: { [destinationLabel]: data.destination } }),
  registry,
});

async function stop(): Promise<void> {
  await proxy.close();
  const stopping = new Error('the proxy thread is stopping');
  tokens.abandon(stopping);
  refetches.abandon(stopping);
  stdoutLines().flush();
  port.close();
}

port.on('message', (message: ToProxyThread) => {
  switch (message.type) {
    case 'keys':
      keys.update(message.jwks, message.version);
      break;
    case 'refetched-keys':
      refetches.answer(message.id, { value: message.fresh });
      break;
    case 'certificate':
      // Open connections keep the certificate they began with. The main thread has built a
      // context from the pair before sending it, so this does not throw for a bad one.
      try {
        proxy.server.setSecureContext({ cert: message.pair.cert, key: message.pair.key });
      } catch (error) {
        logger.error({ err: errorMessage(error) }, 'could not put the renewed proxy certificate in use; serving the previous one');
      }
      break;
    case 'metrics':
      registry.metrics().then(
        (text) => post({ type: 'metrics', id: message.id, text }),
        (error: unknown) => post({ type: 'metrics', id: message.id, error: errorMessage(error) }),
      );
      break;
    case 'token':
      tokens.answer(message.id, message.token !== undefined ? { value: message.token } : { error: message.error ?? 'no token' });
      break;
    case 'stop':
      void stop();
      break;
  }
});

post({ type: 'listening', address: await proxy.listen(data.listen.port, data.listen.host) });
