// The helm CLI built from hack/tools/helm, run on charts/infra.
import { toolPaths } from '../controlplane/tools.ts';
import { runCommand, type CommandResult } from '../local-infra/command.ts';
import { chartDir } from './chart.ts';
import { parseObjects, type KubernetesObject } from './kustomize.ts';

let helmPath: Promise<string> | undefined;

/** The helm binary, built or found by hack/build-tools.sh once per process (it waits on other builds' lock). */
export function helmBinary(): Promise<string> {
  helmPath ??= toolPaths().then((tools) => tools.helm);
  return helmPath;
}

/** Runs helm; never throws on a non-zero exit. */
export async function helm(args: string[]): Promise<CommandResult> {
  return runCommand(await helmBinary(), args);
}

/** `helm template` of charts/infra with `--set` values, e.g. ['spoke.enabled=true']; fails with helm's error. */
export async function renderChart(values: string[] = []): Promise<KubernetesObject[]> {
  const result = await renderChartRaw(values);
  if (result.code !== 0) throw new Error(`helm template ${values.join(' ')} failed (exit ${result.code}): ${result.stderr.trim()}`);
  return parseObjects(result.stdout, 'helm template');
}

export function renderChartRaw(values: string[] = []): Promise<CommandResult> {
  return helm(['template', 'infra', chartDir, ...values.flatMap((value) => ['--set', value])]);
}
