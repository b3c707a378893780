// The token scenario's second baseline, a process of its own like the operator: a bare
// node:https server that answers every POST with a TokenRequest signed by issueToken, the
// operator's own signing, over the same kind of TLS and keep-alive. It compares the bearer
// with one fixed string and checks nothing else: no session lookup, no Grants, no rate
// limit, no schema, no audit line; its answers are written as the operator writes them
// (operator/http/status.ts). What any Node door that signs a token per request costs,
// against which the operator's own work per token shows.
//
//   node bench/bare-token-door.ts <config.json>   → prints {"port": N} once listening
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { apiVersion } from '../api/auth/v1alpha1/types.ts';
import { generateSigningKey, issueToken } from '../api/tokens.ts';
import { sendJSON, sendStatus } from '../operator/http/status.ts';

export interface BareTokenDoorConfig {
  /** The door's serving certificate and key (PEM). */
  tls: { cert: string; key: string };
  /** The whole Authorization header a request must carry. */
  authorization: string;
  /** The token's claims; the audience is the request's spec.destination. */
  issuer: string;
  subject: string;
  groups: string[];
}

const config = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as BareTokenDoorConfig;
const keys = await generateSigningKey();

/** The spec of a TokenRequest body, or undefined for anything else. */
function tokenRequestSpec(body: string): { destination: string } | undefined {
  try {
    const { spec } = JSON.parse(body) as { spec?: { destination?: unknown } };
    return typeof spec?.destination === 'string' ? { destination: spec.destination } : undefined;
  } catch {
    return undefined;
  }
}

const server = createServer({ cert: config.tls.cert, key: config.tls.key, keepAliveTimeout: 65_000 }, (req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    if (req.headers.authorization !== config.authorization) return sendStatus(res, 401, 'Unauthorized', 'not the bearer this door was given');
    const spec = tokenRequestSpec(Buffer.concat(chunks).toString('utf8'));
    if (!spec) return sendStatus(res, 400, 'BadRequest', 'expected a TokenRequest with spec.destination');
    issueToken({ keys, issuer: config.issuer, audience: spec.destination, subject: config.subject, groups: config.groups }).then(
      ({ token, expiresAt }) =>
        sendJSON(res, 201, {
          apiVersion,
          kind: 'TokenRequest',
          metadata: { creationTimestamp: new Date().toISOString() },
          spec,
          status: { token, expirationTimestamp: expiresAt.toISOString() },
        }),
      (err: unknown) => sendStatus(res, 500, 'InternalError', String(err)),
    );
  });
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});
