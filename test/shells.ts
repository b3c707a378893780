// Real zsh and fish for the completion tests, from Debian's packages extracted into a cache
// by hack/shells.sh (no root needed): `make test` runs them on a machine with neither.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

/** How to start an extracted shell: its binary, the environment it needs, and for zsh the code to run first. */
export interface ExtractedShell {
  command: string;
  env: Record<string, string>;
  /** zsh ignores MODULE_PATH from the environment: `module_path` is set by the program itself. */
  prelude: string;
}

let extracting: Promise<Record<string, string>> | undefined;

async function extractedShellPaths(): Promise<Record<string, string>> {
  const script = join(import.meta.dirname, '..', 'hack', 'shells.sh');
  const child = promisify(execFile)('bash', [script], { maxBuffer: 1 << 20 });
  child.child.stderr?.pipe(process.stderr);
  const { stdout } = await child.catch((err: Error) => {
    throw new Error(`the zsh and fish completion tests need the real shells, which hack/shells.sh could not provide: ${err.message}`);
  });
  return Object.fromEntries(
    stdout
      .trim()
      .split('\n')
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
}

/** zsh or fish from Debian's packages (downloaded on first use, then cached). */
export async function extractedShell(shell: 'zsh' | 'fish'): Promise<ExtractedShell> {
  extracting ??= extractedShellPaths();
  const paths = await extracting;
  if (shell === 'zsh') {
    return {
      command: paths.zsh!,
      env: { FPATH: paths.zsh_fpath!, INFRA_ZSH_MODULE_PATH: paths.zsh_module_path! },
      prelude: 'module_path=("$INFRA_ZSH_MODULE_PATH"); ',
    };
  }
  return { command: paths.fish!, env: { LD_LIBRARY_PATH: paths.library_path! }, prelude: '' };
}
