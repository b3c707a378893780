// Where a program's log lines and audit lines go: stdout, through one writer, so the two
// stay in the order they were written. The lines written while the event loop handles one
// round of I/O leave in one write at the end of that round (setImmediate): a busy door
// answering several requests in a round pays one write(2) for all their lines, not two
// per request. Under load the writes are also at least `writeIntervalMs` apart: the
// connector's proxy writes an audit line per request, and a write per round was still
// most of a write(2) per request (each waking the reader of the pipe). Nothing is
// dropped or reordered; what is pending when the process exits (process.exit, a signal
// handled by lib/program.ts, an uncaught exception) is written then. Only a process killed
// outright (SIGKILL) loses its last lines, at most those of the last interval
// (docs/adr/0024-batched-stdout-lines.md).

/** The least time between two writes: lines that come sooner wait for the rest of it. */
export const writeIntervalMs = 10;

export interface LineWriter {
  /** Queues a complete line (its newline included) for the end of this round. */
  write: (line: string) => void;
  /** Writes what is queued now. */
  flush: () => void;
}

export interface LineWriterOptions {
  /** The stream the lines go to; stdout unless a test gives another. */
  out?: { write(chunk: string): unknown };
  /** When a round ends; setImmediate unless a test gives another. */
  afterRound?: (flush: () => void) => void;
  /** Runs `flush` after `ms`; setTimeout unless a test gives another. */
  after?: (ms: number, flush: () => void) => void;
  /** Milliseconds on a monotonic clock; performance.now unless a test gives another. */
  now?: () => number;
  /** The least time between two writes; writeIntervalMs unless a test gives another. */
  minIntervalMs?: number;
}

export function lineWriter({
  out = process.stdout,
  afterRound = (flush) => setImmediate(flush),
  after = (ms, flush) => setTimeout(flush, ms),
  now = () => performance.now(),
  minIntervalMs = writeIntervalMs,
}: LineWriterOptions = {}): LineWriter {
  let pending = '';
  let lastWrite = -Infinity;
  const flush = () => {
    if (pending === '') return;
    const lines = pending;
    pending = '';
    lastWrite = now();
    out.write(lines);
  };
  return {
    write(line) {
      if (pending === '') {
        const wait = lastWrite + minIntervalMs - now();
        if (wait > 0) after(wait, flush);
        else afterRound(flush);
      }
      pending += line;
    },
    flush,
  };
}

let shared: LineWriter | undefined;

/** The program's stdout writer, shared by its logger and audit trail, flushed on exit. */
export function stdoutLines(): LineWriter {
  if (!shared) {
    const writer = lineWriter();
    process.on('exit', writer.flush);
    shared = writer;
  }
  return shared;
}
