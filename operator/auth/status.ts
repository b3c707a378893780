// Kubernetes Status answers for the auth API.
import type { Response } from 'express';

export class ApiError extends Error {
  readonly code: number;
  readonly reason: string;

  constructor(code: number, reason: string, message: string) {
    super(message);
    this.code = code;
    this.reason = reason;
  }
}

/** One answer for every authentication failure, so a caller learns nothing about why. */
export function authenticationFailed(): ApiError {
  return new ApiError(401, 'Unauthorized', 'authentication failed: log in again (infra login)');
}

export function sendStatus(res: Response, code: number, reason: string, message: string): void {
  res.status(code).json({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });
}
