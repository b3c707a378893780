// Delivery against a real HTTP receiver on loopback: both shapes arrive as JSON; a
// receiver that answers 500, then refuses connections, then recovers gets the transition
// after retries; one that hangs is timed out and retried; a full queue drops the oldest;
// notify() returns at once whatever the receiver does; and the URL, the receiver's
// credential, is in no log line whatever goes wrong.
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../lib/log.ts';
import { notificationsConfig } from './config.ts';
import { NotificationMetrics } from './metrics.ts';
import { secretURL, webhookNotifiers } from './notifications.ts';
import { genericPayloadVersion } from './payloads.ts';
import { transition } from '../../../test/access-requests.ts';
import { WebhookNotifier, type WebhookOptions } from './webhook.ts';

/** The secret part of a Slack-like webhook URL. */
const secretPath = '/services/T000SECRET/B000SECRET/XXXXtopSECRETXXXX';

type Behaviour = 'ok' | 'fail' | 'refuse-payload' | 'hang' | 'echo-url';

/** A webhook receiver on loopback that answers each POST as told, in order, then 200. */
class Receiver {
  readonly bodies: unknown[] = [];
  readonly seen: Behaviour[] = [];
  private server: Server | undefined;
  private readonly hanging: ServerResponse[] = [];
  private readonly script: Behaviour[];
  port = 0;

  constructor(script: Behaviour[] = []) {
    this.script = script;
  }

  get url() {
    return `http://127.0.0.1:${this.port}${secretPath}`;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.answer(req, res));
    this.server.listen(this.port, '127.0.0.1');
    await once(this.server, 'listening');
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  /** Closes the port: connections are refused until start() opens it again. */
  async stop(): Promise<void> {
    for (const res of this.hanging.splice(0)) res.destroy();
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }

  private async answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const behaviour = this.script.shift() ?? 'ok';
    this.seen.push(behaviour);
    if (behaviour === 'hang') return void this.hanging.push(res);
    if (behaviour === 'ok') this.bodies.push(JSON.parse(Buffer.concat(chunks).toString()));
    const [status, body] = {
      ok: [200, 'ok'],
      fail: [500, 'internal error'],
      'refuse-payload': [400, 'invalid_payload'],
      'echo-url': [503, `upstream at ${req.url} is down`],
      hang: [0, ''],
    }[behaviour] as [number, string];
    res.writeHead(status, { 'content-type': 'text/plain' }).end(body);
  }
}

const receivers: Receiver[] = [];
const notifiers: { stop(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(notifiers.splice(0).map((n) => n.stop()));
  await Promise.all(receivers.splice(0).map((r) => r.stop()));
});

async function receiver(script: Behaviour[] = []): Promise<Receiver> {
  const r = await new Receiver(script).start();
  receivers.push(r);
  return r;
}

/** Log lines, as the operator writes them. */
function capturedLogger() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  return { logger: createLogger('infra-operator', 'debug', destination), lines };
}

function notifier(url: () => Promise<string>, options: Partial<WebhookOptions> = {}) {
  const registry = new Registry();
  const { logger, lines } = capturedLogger();
  const n = new WebhookNotifier({
    name: 'slack',
    format: 'slack',
    url,
    on: ['new', 'approved', 'denied', 'expired', 'revoked'],
    queueSize: 100,
    maxAttempts: 8,
    maxDeliveryMs: 20_000,
    attemptTimeoutMs: 2_000,
    initialBackoffMs: 20,
    logger,
    metrics: new NotificationMetrics(registry),
    ...options,
  });
  notifiers.push(n);
  const count = async (result: string) =>
    (await registry.getSingleMetric('infra_notifications_total')!.get()).values.find((v) => v.labels.result === result)?.value ?? 0;
  return { notifier: n, lines, count, registry };
}

async function eventually(check: () => unknown, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return void (await check());
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

describe('WebhookNotifier', () => {
  it('POSTs Slack incoming-webhook JSON: text and blocks', async () => {
    const r = await receiver();
    const { notifier: n, count } = notifier(async () => r.url);
    n.notify(transition('new'));
    await eventually(() => expect(r.bodies).toHaveLength(1));
    const body = r.bodies[0] as { text: string; blocks: { type: string }[] };
    expect(body.text).toBe('alice@example.com requests `edit` on `production.web` for `2h`');
    expect(body.blocks.map((b) => b.type)).toEqual(['section', 'section', 'context']);
    await eventually(async () => expect(await count('delivered')).toBe(1));
  });

  it('POSTs the generic shape: the transition with its version', async () => {
    const r = await receiver();
    const { notifier: n } = notifier(async () => r.url, { format: 'generic' });
    n.notify(transition('new'));
    await eventually(() => expect(r.bodies).toHaveLength(1));
    expect(r.bodies[0]).toMatchObject({ version: genericPayloadVersion, type: 'new', request: { name: 'alice-edit-production-web-x7k2p' } });
  });

  it('delivers after retries to a receiver that answers 500, then refuses connections, then recovers', async () => {
    const r = await receiver(['fail', 'fail']);
    const { notifier: n, count, lines } = notifier(async () => r.url, { initialBackoffMs: 100 });
    n.notify(transition('approved'));
    await eventually(() => expect(r.seen).toEqual(['fail', 'fail']));
    await r.stop();
    await eventually(() => expect(lines.some((l) => l.includes('ECONNREFUSED'))).toBe(true));
    await r.start();
    await eventually(() => expect(r.bodies).toHaveLength(1));
    await eventually(async () => expect(await count('delivered')).toBe(1));
    expect(await count('failed')).toBe(0);
    const delivered = JSON.parse(lines.find((l) => l.includes('notification delivered'))!) as { attempts: number };
    expect(delivered.attempts).toBeGreaterThanOrEqual(4);
  });

  it('times out a receiver that hangs and retries, without blocking the caller', async () => {
    const r = await receiver(['hang']);
    const { notifier: n, lines } = notifier(async () => r.url, { attemptTimeoutMs: 300 });
    const started = performance.now();
    n.notify(transition('new'));
    expect(performance.now() - started).toBeLessThan(50);
    await eventually(() => expect(r.bodies).toHaveLength(1));
    expect(r.seen).toEqual(['hang', 'ok']);
    expect(lines.some((l) => l.includes('no answer within 300ms'))).toBe(true);
  });

  it('never blocks or throws into the caller: a thousand notifications to a hanging receiver return at once', async () => {
    const r = await receiver(Array<Behaviour>(5).fill('hang'));
    const { notifier: n } = notifier(async () => r.url, { attemptTimeoutMs: 10_000 });
    const started = performance.now();
    for (let i = 0; i < 1000; i++) n.notify(transition('new'));
    expect(performance.now() - started).toBeLessThan(500);
    const failing = notifier(() => Promise.reject(new Error('the API server is down')));
    expect(() => failing.notifier.notify(transition('new'))).not.toThrow();
  });

  it('gives up within its bounds: a refusal at once, a failing receiver after maxAttempts', async () => {
    const refusing = await receiver(['refuse-payload']);
    const refused = notifier(async () => refusing.url);
    refused.notifier.notify(transition('new'));
    await eventually(async () => expect(await refused.count('failed')).toBe(1));
    expect(refusing.seen).toEqual(['refuse-payload']);
    expect(refused.lines.some((l) => l.includes('the receiver refused it') && l.includes('HTTP 400: invalid_payload'))).toBe(true);

    const failing = await receiver(Array<Behaviour>(10).fill('fail'));
    const bounded = notifier(async () => failing.url, { maxAttempts: 3, initialBackoffMs: 5 });
    bounded.notifier.notify(transition('new'));
    await eventually(async () => expect(await bounded.count('failed')).toBe(1));
    expect(failing.seen).toHaveLength(3);
    expect(bounded.lines.some((l) => l.includes('3 attempts failed'))).toBe(true);
  });

  it('drops the oldest transition when its queue is full, and counts it', async () => {
    const r = await receiver(['hang']);
    const { notifier: n, count, lines } = notifier(async () => r.url, { format: 'generic', queueSize: 2, attemptTimeoutMs: 300 });
    n.notify(transition('new')); // in flight, hanging
    await eventually(() => expect(r.seen).toEqual(['hang']));
    for (const type of ['approved', 'denied', 'revoked'] as const) n.notify(transition(type));
    expect(await count('dropped')).toBe(1);
    expect(lines.some((l) => l.includes('notification dropped: the queue is full') && l.includes('"transition":"approved"'))).toBe(true);
    await eventually(() => expect(r.bodies.map((b) => (b as { type: string }).type)).toEqual(['new', 'denied', 'revoked']));
  });

  it('sends only the transitions it is configured for', async () => {
    const r = await receiver();
    const { notifier: n } = notifier(async () => r.url, { on: ['approved'] });
    n.notify(transition('new'));
    n.notify(transition('approved'));
    await eventually(() => expect(r.bodies).toHaveLength(1));
    expect((r.bodies[0] as { text: string }).text).toContain('approved');
  });

  it('never logs the URL: not from a failing answer that echoes it, a refused connection, or a bad Secret', async () => {
    const r = await receiver(['echo-url', 'fail']);
    const secrets = { url: r.url };
    const config = notificationsConfig.parse({ webhooks: [{ name: 'slack', urlSecretRef: { name: 'slack-webhook' }, initialBackoff: '10ms' }] });
    const { logger, lines } = capturedLogger();
    const registry = new Registry();
    const all = webhookNotifiers(config, { namespace: 'infra-system', readSecret: async () => secrets.url, registry, logger });
    notifiers.push(all);
    all.notify(transition('new'));
    await eventually(() => expect(r.bodies).toHaveLength(1));
    expect(lines.join('\n')).toContain('upstream at [redacted] is down');

    await r.stop();
    all.notify(transition('approved'));
    await eventually(() => expect(lines.some((l) => l.includes('ECONNREFUSED'))).toBe(true));
    secrets.url = `ftp://127.0.0.1${secretPath}`;
    await eventually(() => expect(lines.some((l) => l.includes('holds a ftp: URL'))).toBe(true));
    secrets.url = `not a url ${secretPath}`;
    await eventually(() => expect(lines.some((l) => l.includes('does not hold a URL'))).toBe(true));

    expect(lines.length).toBeGreaterThan(3);
    for (const line of lines) expect(line).not.toContain('SECRET');
    expect(await registry.metrics()).not.toContain('SECRET');
  });
});

describe('secretURL', () => {
  const webhook = notificationsConfig.parse({ webhooks: [{ name: 'slack', urlSecretRef: { name: 'slack-webhook' } }] }).webhooks[0]!;

  it('says how to create a missing Secret', async () => {
    const read = secretURL(webhook, { namespace: 'infra-system', readSecret: async () => undefined });
    await expect(read()).rejects.toThrow(
      'Secret slack-webhook key url in namespace infra-system (notifications.webhooks slack) does not exist or is empty; create it: kubectl -n infra-system create secret generic slack-webhook --from-literal=url=https://hooks.slack.com/services/…',
    );
  });
});

describe('notificationsConfig', () => {
  const problems = (input: unknown) => notificationsConfig.safeParse(input).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`);

  it('defaults to no webhooks, and fills a webhook in', () => {
    expect(notificationsConfig.parse({})).toEqual({ webhooks: [] });
    expect(notificationsConfig.parse({ webhooks: [{ urlSecretRef: { name: 'slack-webhook' } }] }).webhooks[0]).toEqual({
      name: 'webhook',
      format: 'slack',
      urlSecretRef: { name: 'slack-webhook', key: 'url' },
      on: ['new', 'approved', 'denied', 'expired', 'revoked'],
      queueSize: 1000,
      maxAttempts: 8,
      maxDeliveryTime: 600_000,
      attemptTimeout: 10_000,
      initialBackoff: 1_000,
    });
  });

  it("refuses an operator's Secret, an unknown format or transition, and two webhooks of one name, saying what to do", () => {
    expect(problems({ webhooks: [{ urlSecretRef: { name: 'infra-signing-keys' } }] })).toEqual([
      'webhooks.0.urlSecretRef.name: must not name an infra-* Secret: those belong to the operator; put the URL in a Secret of your own, e.g. slack-webhook',
    ]);
    expect(problems({ webhooks: [{ format: 'teams', urlSecretRef: { name: 'w' } }] })).toEqual(['webhooks.0.format: must be one of slack, generic']);
    expect(problems({ webhooks: [{ on: ['approve'], urlSecretRef: { name: 'w' } }] })?.[0]).toMatch(/^webhooks\.0\.on\.0: /);
    expect(problems({ webhooks: [{ urlSecretRef: { name: 'a' } }, { urlSecretRef: { name: 'b' } }] })).toEqual([
      'webhooks: webhooks must have different names: give each a name (e.g. slack, audit-sink)',
    ]);
  });
});
