// Where a program's log lines and audit lines go: stdout, through one writer, so the two
// stay in the order they were written. The lines written while the event loop handles one
// round of I/O leave in one write at the end of that round (setImmediate): a busy door
// answering several requests in a round pays one write(2) for all their lines, not two
// per request. Nothing is dropped or reordered; what is pending when the process exits
// (process.exit, a signal handled by lib/program.ts, an uncaught exception) is written
// then. Only a process killed outright (SIGKILL) loses the lines of its last round
// (docs/adr/0024-batched-stdout-lines.md).

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
}

export function lineWriter({ out = process.stdout, afterRound = (flush) => setImmediate(flush) }: LineWriterOptions = {}): LineWriter {
  let pending = '';
  const flush = () => {
    if (pending === '') return;
    const lines = pending;
    pending = '';
    out.write(lines);
  };
  return {
    write(line) {
      if (pending === '') afterRound(flush);
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
