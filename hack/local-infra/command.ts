// A child process run to its end, for tests that look at what a command did: its exit
// code and its output, whatever the code.
import { execFile } from 'node:child_process';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CommandOptions {
  /** Added to this process's environment; a variable set to undefined is left out. */
  env?: NodeJS.ProcessEnv;
  /** false: the command sees only `env`, as in a person's fresh shell, not this process's environment. */
  inheritEnv?: boolean;
  cwd?: string;
  /** Written to the command's stdin. */
  input?: string;
  /** Killed after this long; no limit unless set. */
  timeoutMs?: number;
}

/** Runs a command to its end; resolves with its exit code and output, never rejects. */
export function runCommand(command: string, args: string[], options: CommandOptions = {}): Promise<CommandResult> {
  return new Promise((resolve) => {
    const env = { ...(options.inheritEnv === false ? {} : process.env), ...options.env };
    const child = execFile(command, args, { env, cwd: options.cwd, maxBuffer: 64 << 20, timeout: options.timeoutMs ?? 0 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
    child.stdin!.end(options.input ?? '');
  });
}
