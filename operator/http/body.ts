// Request bodies of the operator's APIs: at most 64 KiB of JSON. readJSONBody reads one for
// the auth API's create path, which runs outside express (authapi/creates.ts says why), as
// express's body parser does for the other routes: 413 past the limit, 400 for what is not
// JSON, {} for an empty body. Both refuse with the same Status (status.ts maps body-parser's).
import type { IncomingMessage } from 'node:http';
import { errorMessage } from '../../lib/errors.ts';
import { StatusError } from '../../lib/status-error.ts';

export const maxBodyBytes = 64 * 1024;

export const bodyTooLarge = (limit = maxBodyBytes) => new StatusError(413, 'RequestEntityTooLarge', `the request body is larger than ${limit / 1024} KiB`);

export const bodyNotJSON = (err: unknown) => new StatusError(400, 'BadRequest', `the request body is not valid JSON: ${errorMessage(err)}`);

export async function readJSONBody(req: IncomingMessage, limit = maxBodyBytes): Promise<unknown> {
  if (Number(req.headers['content-length'] ?? 0) > limit) throw bodyTooLarge(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw bodyTooLarge(limit);
    chunks.push(chunk);
  }
  if (size === 0) return {};
  try {
    return JSON.parse(Buffer.concat(chunks, size).toString('utf8')) as unknown;
  } catch (err) {
    throw bodyNotJSON(err);
  }
}
