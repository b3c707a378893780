// Structured JSON logs for every Infra program. Secrets never reach a log line: known
// secret-bearing fields are redacted wherever they appear in a logged object.
import { pino, type Logger } from 'pino';

export type { Logger };

const secretFields = [
  'password',
  'currentPassword',
  'newPassword',
  'oneTimePassword',
  'token',
  'accessKey',
  'sessionKey',
  'clientSecret',
  'code',
  'codeVerifier',
  'deviceCode',
  'refreshToken',
  'refresh_token',
  'access_token',
  'id_token',
  'device_code',
  'assertion',
  'private_key',
  'authorization',
];

export const redactedPaths = [...secretFields, ...secretFields.map((f) => `*.${f}`), 'headers.authorization', 'req.headers.authorization'];

export function createLogger(component: string, level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({
    level,
    base: { component },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: redactedPaths, censor: '[redacted]' },
    formatters: { level: (label) => ({ level: label }) },
  });
}
