// Kubernetes Status answers for the auth API.
import type { Response } from 'express';
import { StatusError } from '../../lib/status-error.ts';

/** One answer for every authentication failure, so a caller learns nothing about why. */
export function authenticationFailed(): StatusError {
  return new StatusError(401, 'Unauthorized', 'authentication failed: log in again (infra login)');
}

export function sendStatus(res: Response, code: number, reason: string, message: string): void {
  res.status(code).json({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });
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

export function sendError(res: Response, err: StatusError): void {
  if (err instanceof TooManyRequests) res.set('Retry-After', String(err.retryAfterSeconds));
  sendStatus(res, err.code, err.reason, err.message);
}
