// A program's log and audit lines share one stdout writer per thread: a round's lines
// leave in as few writes as fit PIPE_BUF, writes stay an interval apart under load, the
// lines stay in order, what is pending when the process exits is still written, and two
// threads writing at once never cut each other's lines.
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { testDirectory } from '../test/temporary.ts';
import { lineWriter } from './stdout-lines.ts';

const nextRound = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('lineWriter', () => {
  it("writes the lines of one event-loop round in one write, in the order they came, at the round's end", async () => {
    const writes: string[] = [];
    const lines = lineWriter({ out: { write: (chunk: string) => writes.push(chunk) }, minIntervalMs: 0 });
    lines.write('one\n');
    lines.write('two\n');
    lines.write('three\n');
    expect(writes).toEqual([]);
    await nextRound();
    expect(writes).toEqual(['one\ntwo\nthree\n']);

    lines.write('four\n');
    await nextRound();
    expect(writes).toEqual(['one\ntwo\nthree\n', 'four\n']);
  });

  it('under load, keeps writes at least the interval apart: what comes sooner waits for the rest of it, in one write', async () => {
    const writes: string[] = [];
    let clock = 1000;
    const timers: Array<{ ms: number; flush: () => void }> = [];
    const lines = lineWriter({
      out: { write: (chunk: string) => writes.push(chunk) },
      now: () => clock,
      after: (ms, flush) => timers.push({ ms, flush }),
      minIntervalMs: 10,
    });
    lines.write('one\n');
    await nextRound();
    expect(writes).toEqual(['one\n']);

    clock += 4; // 4 ms after that write: the next lines wait the other 6
    lines.write('two\n');
    lines.write('three\n');
    await nextRound();
    expect(writes).toEqual(['one\n']);
    expect(timers.map((t) => t.ms)).toEqual([6]);
    clock += 6;
    timers[0]!.flush();
    expect(writes).toEqual(['one\n', 'two\nthree\n']);

    clock += 25; // at rest: out at the end of the round again
    lines.write('four\n');
    await nextRound();
    expect(writes).toEqual(['one\n', 'two\nthree\n', 'four\n']);
    expect(timers).toHaveLength(1);
  });

  it('cuts a round into writes of whole lines within the byte limit, a longer line alone, counting bytes not characters', async () => {
    const writes: string[] = [];
    const lines = lineWriter({ out: { write: (chunk: string) => writes.push(chunk) }, minIntervalMs: 0, maxWriteBytes: 10 });
    for (const line of ['abc\n', 'def\n', 'gh\n', 'a line longer than ten\n', 'ij\n', 'ééé\n', 'k\n']) lines.write(line);
    await nextRound();
    // 'ééé\n' is 4 characters but 7 bytes: with 'ij\n' it would be 10, with 'k\n' too 12.
    expect(writes).toEqual(['abc\ndef\n', 'gh\n', 'a line longer than ten\n', 'ij\nééé\n', 'k\n']);
  });

  it('writes at most PIPE_BUF (4,096 bytes) at a time unless told otherwise', async () => {
    const writes: string[] = [];
    const lines = lineWriter({ out: { write: (chunk: string) => writes.push(chunk) }, minIntervalMs: 0 });
    for (let i = 0; i < 100; i++) lines.write(`${'x'.repeat(99)}\n`);
    await nextRound();
    // 40 lines of 100 bytes fit in 4,096; a 41st would not.
    expect(writes.map((chunk) => Buffer.byteLength(chunk))).toEqual([4000, 4000, 2000]);
  });

  it('writes what is queued at once when flushed', () => {
    const writes: string[] = [];
    const lines = lineWriter({ out: { write: (chunk: string) => writes.push(chunk) }, afterRound: () => undefined });
    lines.write('one\n');
    lines.flush();
    lines.flush();
    expect(writes).toEqual(['one\n']);
  });
});

describe("a program's stdout", () => {
  const run = (exit: string) =>
    promisify(execFile)(process.execPath, [
      '--input-type=module',
      '-e',
      `import { createLogger } from ${JSON.stringify(join(import.meta.dirname, 'log.ts'))};
       import { createAuditLog } from ${JSON.stringify(join(import.meta.dirname, 'audit.ts'))};
       const logger = createLogger('infra-test', 'info');
       logger.info('first');
       createAuditLog('infra-test').record({ requestURI: '/second', verb: 'create', user: {}, code: 201 });
       logger.info('third');
       ${exit}`,
    ]).then(
      ({ stdout }) => stdout,
      (err: { stdout: string }) => err.stdout,
    );
  const order = (stdout: string) =>
    stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { msg?: string; requestURI?: string })
      .map((line) => line.msg ?? line.requestURI);

  it('has the log and audit lines in the order written, all of them, when the process exits in the same round', async () => {
    expect(order(await run('process.exit(0);'))).toEqual(['first', '/second', 'third']);
  });

  it('has them all when the process ends with an uncaught exception', async () => {
    expect(order(await run("throw new Error('crash');"))).toEqual(['first', '/second', 'third']);
  });

  it('keeps every line whole when a worker thread and the main thread write at once', async () => {
    // Lines of ~1 KiB from both threads, more than a pipe holds: the reader falls behind,
    // and a write longer than PIPE_BUF could be split around the other thread's.
    const perThread = 4000;
    const script = `
      import { Worker, isMainThread } from 'node:worker_threads';
      import { createLogger } from ${JSON.stringify(join(import.meta.dirname, 'log.ts'))};
      const thread = isMainThread ? 'main' : 'worker';
      const logger = createLogger('infra-test', 'info');
      const padding = 'x'.repeat(1000);
      const worker = isMainThread ? new Worker(new URL(import.meta.url)) : undefined;
      // Waited for from the start: a worker that ends first must not be missed.
      const workerExited = worker && new Promise((resolve) => worker.once('exit', resolve));
      for (let i = 0; i < ${perThread}; i++) {
        logger.info({ thread, i, padding }, 'line');
        if (i % 50 === 49) await new Promise((resolve) => setImmediate(resolve));
      }
      await workerExited;`;
    const file = join(testDirectory('stdout-threads-'), 'threads.mjs');
    await writeFile(file, script);
    const { stdout } = await promisify(execFile)(process.execPath, [file], { maxBuffer: 64 * 1024 * 1024 });
    const seen = { main: new Set<number>(), worker: new Set<number>() };
    for (const line of stdout.trim().split('\n')) {
      const { thread, i, padding } = JSON.parse(line) as { thread: 'main' | 'worker'; i: number; padding: string };
      expect(padding).toHaveLength(1000);
      seen[thread].add(i);
    }
    expect(seen.main.size).toBe(perThread);
    expect(seen.worker.size).toBe(perThread);
  });
});
