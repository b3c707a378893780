// Reads a request's JSON body for the auth API's create path, which runs outside express
// (api.ts says why), with body-parser's limits and answers: 413 past the limit, 400 for
// what is not JSON, {} for an empty body.
import type { IncomingMessage } from 'node:http';
import { errorMessage } from '../../lib/controller/informer.ts';
import { StatusError } from '../../lib/status-error.ts';

export const maxBodyBytes = 64 * 1024;

const tooLarge = (limit: number) => new StatusError(413, 'RequestEntityTooLarge', `the request body is larger than ${limit / 1024} KiB`);

export async function readJSONBody(req: IncomingMessage, limit = maxBodyBytes): Promise<unknown> {
  if (Number(req.headers['content-length'] ?? 0) > limit) throw tooLarge(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw tooLarge(limit);
    chunks.push(chunk);
  }
  if (size === 0) return {};
  try {
    return JSON.parse(Buffer.concat(chunks, size).toString('utf8')) as unknown;
  } catch (err) {
    throw new StatusError(400, 'BadRequest', `the request body is not valid JSON: ${errorMessage(err)}`);
  }
}
