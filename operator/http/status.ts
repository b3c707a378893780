// Kubernetes Status answers for the operator's HTTP APIs (auth, access keys, management),
// on Node's ServerResponse, so they serve express routes and the plain create path alike.
import type { ServerResponse } from 'node:http';
import type { NextFunction, Request, Response } from 'express';
import { errorMessage } from '../../lib/errors.ts';
import type { Logger } from '../../lib/log.ts';
import { StatusError } from '../../lib/status-error.ts';
import { bodyNotJSON, bodyTooLarge } from './body.ts';

/** One answer for every authentication failure, so a caller learns nothing about why. */
export function authenticationFailed(): StatusError {
  return new StatusError(401, 'Unauthorized', 'authentication failed: log in again (infra login)');
}

/** A JSON answer, as express's res.json() writes it. */
export function sendJSON(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

export function sendStatus(res: ServerResponse, code: number, reason: string, message: string): void {
  sendJSON(res, code, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });
}

/** 429 with Retry-After: a login locked after repeated failures. */
export class TooManyRequests extends StatusError {
  override name = 'TooManyRequests';
  readonly retryAfterSeconds: number;

  constructor(message: string, retryAfterSeconds: number) {
    super(429, 'TooManyRequests', message);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/**
 * Answers a failed request: a StatusError as itself, the JSON body parser's refusals as
 * 400 and 413, anything else as a 500 whose details go to the log, not to the caller.
 */
export function answerError(res: ServerResponse, err: unknown, logger: Logger, context: Record<string, unknown>): void {
  const type = (err as { type?: string } | undefined)?.type;
  if (type === 'entity.parse.failed') err = bodyNotJSON(err);
  if (type === 'entity.too.large') err = bodyTooLarge();
  if (err instanceof TooManyRequests) res.setHeader('Retry-After', String(err.retryAfterSeconds));
  if (err instanceof StatusError) return sendStatus(res, err.code, err.reason, err.message);
  logger.error({ ...context, err: errorMessage(err) }, 'request failed');
  sendStatus(res, 500, 'InternalError', 'an internal error occurred; the operator logged the details');
}

/** Express error middleware: what the body parser (or a handler) passed on, answered as above. */
export function errorMiddleware(logger: Logger, api: string) {
  return (err: unknown, _req: Request, res: Response, next: NextFunction): void => {
    if (res.headersSent) return next(err);
    answerError(res, err, logger, { api });
  };
}
