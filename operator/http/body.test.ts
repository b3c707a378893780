import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { StatusError } from '../../lib/status-error.ts';
import { readJSONBody } from './body.ts';

/** A request body as Node hands it over: a stream of chunks, with the client's headers. */
function request(chunks: string[], headers: Record<string, string> = {}): IncomingMessage {
  return Object.assign(Readable.from(chunks.map((c) => Buffer.from(c))), { headers }) as unknown as IncomingMessage;
}

async function refusal(promise: Promise<unknown>): Promise<{ code: number; reason: string; message: string }> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(StatusError);
  const { code, reason, message } = err as StatusError;
  return { code, reason, message };
}

describe('readJSONBody', () => {
  it('parses a body that arrives in pieces', async () => {
    expect(await readJSONBody(request(['{"kind":"Tok', 'enRequest","spec":{"destination":"prod"}}']))).toEqual({
      kind: 'TokenRequest',
      spec: { destination: 'prod' },
    });
  });

  it('reads an empty body as an empty object, as body-parser does', async () => {
    expect(await readJSONBody(request([]))).toEqual({});
  });

  it('answers 400 for a body that is not JSON, saying so', async () => {
    const { code, reason, message } = await refusal(readJSONBody(request(['{"kind": '])));
    expect([code, reason]).toEqual([400, 'BadRequest']);
    expect(message).toMatch(/^the request body is not valid JSON: /);
  });

  it('answers 413 past the limit, whether the client announced the length or not', async () => {
    const announced = await refusal(readJSONBody(request(['{}'], { 'content-length': '2048' }), 1024));
    expect(announced).toEqual({ code: 413, reason: 'RequestEntityTooLarge', message: 'the request body is larger than 1 KiB' });
    const streamed = await refusal(readJSONBody(request(['{"a":"', 'x'.repeat(1000), 'x'.repeat(1000), '"}']), 1024));
    expect(streamed.code).toBe(413);
  });

  it('takes a body exactly at the limit', async () => {
    const body = JSON.stringify({ a: 'x'.repeat(1024 - 8) });
    expect(body.length).toBe(1024);
    expect(await readJSONBody(request([body]), 1024)).toEqual({ a: 'x'.repeat(1016) });
  });
});
