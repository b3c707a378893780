// Where a program's log lines and audit lines go: stdout, through one writer per thread,
// so the two stay in the order they were written. The lines written while the event loop
// handles one round of I/O leave in one write at the end of that round (setImmediate): a
// busy door answering several requests in a round pays one write(2) for all their lines,
// not two per request. Under load the writes are also at least `writeIntervalMs` apart:
// the connector's proxy writes an audit line per request, and a write per round was still
// most of a write(2) per request (each waking the reader of the pipe). Nothing is dropped
// or reordered; what is pending when the process exits (process.exit, a signal handled by
// lib/program.ts, an uncaught exception) is written then. Only a process killed outright
// (SIGKILL) loses its last lines, at most those of the last interval
// (docs/adr/0024-batched-stdout-lines.md).
//
// Every thread writes to file descriptor 1 itself, in writes of whole lines of at most
// PIPE_BUF bytes: the kernel never splits such a write to a pipe, so the connector's proxy
// thread and its main thread cannot cut each other's lines, and no line is relayed from a
// worker through the main thread (a worker's `process.stdout` is a message port to it).
import { pino } from 'pino';

/** The least time between two writes: lines that come sooner wait for the rest of it. */
export const writeIntervalMs = 10;

/** The most bytes Linux writes to a pipe in one piece (PIPE_BUF): a write's lines stay whole beside another thread's. */
const atomicWriteBytes = 4096;

export interface LineWriter {
  /** Queues a complete line (its newline included) for the end of this round. */
  write: (line: string) => void;
  /** Writes what is queued now. */
  flush: () => void;
}

export interface LineWriterOptions {
  /** Where the lines go; file descriptor 1 unless a test gives another. */
  out?: { write(chunk: string): unknown };
  /** When a round ends; setImmediate unless a test gives another. */
  afterRound?: (flush: () => void) => void;
  /** Runs `flush` after `ms`; setTimeout unless a test gives another. */
  after?: (ms: number, flush: () => void) => void;
  /** Milliseconds on a monotonic clock; performance.now unless a test gives another. */
  now?: () => number;
  /** The least time between two writes; writeIntervalMs unless a test gives another. */
  minIntervalMs?: number;
  /** The most bytes of lines in one write (a longer line goes alone); atomicWriteBytes unless a test gives another. */
  maxWriteBytes?: number;
}

/**
 * File descriptor 1, written synchronously, as Node writes stdout to a pipe or a file; a
 * full non-blocking pipe is waited out (sonic-boom's retry), not a line dropped.
 */
const fileDescriptorOne = () => pino.destination({ fd: 1, sync: true });

export function lineWriter({
  out = fileDescriptorOne(),
  afterRound = (flush) => setImmediate(flush),
  after = (ms, flush) => setTimeout(flush, ms),
  now = () => performance.now(),
  minIntervalMs = writeIntervalMs,
  maxWriteBytes = atomicWriteBytes,
}: LineWriterOptions = {}): LineWriter {
  /** The lines queued, as the writes they will leave in: whole lines, each write within maxWriteBytes. */
  let pending: string[] = [];
  let lastBytes = 0;
  let lastWrite = -Infinity;
  const flush = () => {
    if (pending.length === 0) return;
    const writes = pending;
    pending = [];
    lastWrite = now();
    for (const chunk of writes) out.write(chunk);
  };
  return {
    write(line) {
      if (pending.length === 0) {
        const wait = lastWrite + minIntervalMs - now();
        if (wait > 0) after(wait, flush);
        else afterRound(flush);
      }
      const bytes = Buffer.byteLength(line);
      if (pending.length > 0 && lastBytes + bytes <= maxWriteBytes) {
        pending[pending.length - 1] += line;
        lastBytes += bytes;
      } else {
        pending.push(line);
        lastBytes = bytes;
      }
    },
    flush,
  };
}

let shared: LineWriter | undefined;

/** This thread's stdout writer, shared by its logger and audit trail, flushed on exit. */
export function stdoutLines(): LineWriter {
  if (!shared) {
    const writer = lineWriter();
    process.on('exit', writer.flush);
    shared = writer;
  }
  return shared;
}
