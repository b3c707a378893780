// How kubectl runs this same program again: the `command` of the kubeconfig's exec
// entries. `infra` when the `infra` on PATH is this program, so the entry survives an
// upgrade or a moved checkout; else the absolute path of what is running.
import { accessSync, constants, realpathSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import type { ExecPlugin } from './kubeconfig.ts';

/** The program that is running: a single executable, or Node running a script. */
export type RunningProgram = { executable: string } | { node: string; script: string };

function realpathOrUndefined(path: string): string | undefined {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The first executable `name` on PATH, as a shell would find it; relative PATH entries are skipped, as kubectl runs from anywhere. */
export function findOnPath(name: string, path: string | undefined): string | undefined {
  for (const dir of (path ?? '').split(delimiter)) {
    if (!isAbsolute(dir)) continue;
    const candidate = join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/** The file that is this program: the executable, or the script (an npm-installed `infra` is a link to it). */
function programFile(program: RunningProgram): string {
  return 'executable' in program ? program.executable : program.script;
}

/** What a kubeconfig's exec entry runs for this program, with `env` the environment it should see. */
export function execPluginFor(program: RunningProgram, env: NodeJS.ProcessEnv): ExecPlugin {
  const home = env['INFRA_HOME'];
  const pluginEnv = home ? { env: [{ name: 'INFRA_HOME', value: home }] } : {};
  const onPath = findOnPath('infra', env['PATH']);
  const self = realpathOrUndefined(programFile(program));
  if (onPath !== undefined && self !== undefined && realpathOrUndefined(onPath) === self) return { command: 'infra', args: [], ...pluginEnv };
  if ('executable' in program) return { command: self ?? program.executable, args: [], ...pluginEnv };
  return { command: program.node, args: [self ?? program.script], ...pluginEnv };
}
