// A pseudo-terminal for the e2e suites: util-linux `script` runs a command on a real pty
// (so the program sees a TTY, raw mode and echo work as on a laptop), forwards what the
// test types, and hands back everything the terminal showed.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { stripVTControlCharacters } from 'node:util';

/** Keys as a terminal sends them. */
export const keys = { up: '\x1b[A', down: '\x1b[B', enter: '\r' } as const;

export interface Terminal {
  /** Everything shown so far, without colours and cursor movements. */
  screen(): string;
  /** Waits until the screen, after `from` characters of it, shows the text; fails with the screen after the timeout. */
  waitFor(text: string | RegExp, options?: { from?: number; timeoutMs?: number }): Promise<void>;
  type(text: string): void;
  /** The command's exit status, once it ends. */
  exited: Promise<number>;
  kill(): void;
}

const shellQuote = (word: string) => `'${word.replace(/'/g, `'\\''`)}'`;

/** Runs `command args…` on a 120×40 pseudo-terminal with this environment added. */
export function openTerminal(command: string, args: string[], env: NodeJS.ProcessEnv): Terminal {
  const line = `stty cols 120 rows 40 && exec ${[command, ...args].map(shellQuote).join(' ')}`;
  // -e: exit with the command's status; -f: flush at once; -q: no banner; /dev/null: no typescript file.
  const child = spawn('script', ['-qfec', line, '/dev/null'], { env: { ...process.env, ...env, TERM: 'xterm' }, stdio: ['pipe', 'pipe', 'pipe'] });
  let raw = '';
  let failed: Error | undefined;
  child.on(
    'error',
    (err) => (failed = new Error(`cannot start util-linux script for a pseudo-terminal (Debian: bsdutils, Fedora: util-linux-script): ${err.message}`)),
  );
  child.stdout.on('data', (chunk: Buffer) => (raw += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (raw += chunk.toString()));
  // 'close': the output is read to its end; a script that could not start ends as a shell's missing command.
  const exited = once(child, 'close').then(
    ([code]) => (typeof code === 'number' ? code : 1),
    () => 127,
  );
  // The pty turns each \n into \r\n (onlcr); tests match lines as a program wrote them.
  const screen = () => stripVTControlCharacters(raw).replace(/\r\n/g, '\n');
  return {
    screen,
    async waitFor(text, { from = 0, timeoutMs = 15_000 } = {}) {
      const deadline = Date.now() + timeoutMs;
      const shown = () => {
        const after = screen().slice(from);
        return typeof text === 'string' ? after.includes(text) : text.test(after);
      };
      while (!shown()) {
        if (failed) throw failed;
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the terminal never showed ${String(text)}; it shows:\n${screen()}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    type: (text) => void child.stdin.write(text),
    exited,
    kill: () => void child.kill(),
  };
}
