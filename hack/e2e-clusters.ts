// The clusters the e2e suite runs against, chosen with one variable, E2E_CLUSTER:
//   local (default) the loopback hub + spoke from hack/controlplane: what CI runs here;
//   kind            the hub and spoke kind clusters that hack/kind-up.sh made.
// (k3s was a third choice, removed: docs/install.md says why.) Each yields the same
// ControlPlaneState, so the suites run unchanged. kind needs a Docker engine: without one
// the run stops at once and says what is missing, rather than hanging on a socket or
// passing without clusters.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { ControlPlane, findRunning, type ClusterName, type ControlPlaneState } from './controlplane/controlplane.ts';

export const e2eClusters = ['local', 'kind'] as const;
export type E2ECluster = (typeof e2eClusters)[number];

/** Where hack/kind-up.sh leaves the kind clusters' state, relative to the repository. */
export const kindStateDir = '.infra/kind';
const dockerCheckTimeoutMs = 15_000;

export interface RunningClusters {
  state: ControlPlaneState;
  stop(): Promise<void>;
}

export function selectedCluster(env: NodeJS.ProcessEnv): E2ECluster {
  const value = env['E2E_CLUSTER'] ?? 'local';
  if ((e2eClusters as readonly string[]).includes(value)) return value as E2ECluster;
  throw new Error(`E2E_CLUSTER=${value} is not one of ${e2eClusters.join(', ')}; leave it unset for the local control plane`);
}

/** Starts (local) or finds (kind) the hub and spoke for the e2e suite. */
export async function startE2EClusters(env: NodeJS.ProcessEnv, repoRoot: string): Promise<RunningClusters> {
  const choice = selectedCluster(env);
  if (choice === 'local') return startLocal(env);
  await requireDocker(choice, env);
  return findKind(env, repoRoot);
}

async function startLocal(env: NodeJS.ProcessEnv): Promise<RunningClusters> {
  // INFRA_CONTROLPLANE_DIR reuses a running one, e.g. the one `make dev` keeps in .infra/dev.
  const reuseDir = env['INFRA_CONTROLPLANE_DIR'];
  const running = reuseDir ? await findRunning(reuseDir) : undefined;
  if (running) return { state: running, stop: async () => undefined };
  // The spoke's audit log is what e2e/audit-trail.test.ts joins the proxy's lines with.
  const started = await ControlPlane.start({ auditLog: true });
  return { state: started.state, stop: () => started.stop() };
}

/** Fails with what to install or start when `docker info` does not answer. */
export async function requireDocker(choice: E2ECluster, env: NodeJS.ProcessEnv): Promise<void> {
  const result = await run('docker', ['info', '--format', '{{.ServerVersion}}'], env, dockerCheckTimeoutMs);
  const needs = `E2E_CLUSTER=${choice} needs a running Docker engine`;
  const instead = 'or leave E2E_CLUSTER unset to use the local control plane';
  if (result.missing) throw new Error(`${needs}, but the docker command is not on PATH: install Docker, ${instead}`);
  if (result.timedOut) throw new Error(`${needs}, but \`docker info\` did not answer within ${dockerCheckTimeoutMs / 1000} s: check the engine, ${instead}`);
  if (result.code !== 0) throw new Error(`${needs}, but \`docker info\` failed: ${lastLine(result.stderr)}. Start the engine (or set DOCKER_HOST), ${instead}`);
}

// The suite needs no kind command: kind-up's state file and kubeconfigs are the clusters
// (kind-up builds kind when none is on PATH).
async function findKind(env: NodeJS.ProcessEnv, repoRoot: string): Promise<RunningClusters> {
  const dir = join(repoRoot, kindStateDir);
  const state = await findRunning(dir);
  if (!state) throw new Error(`E2E_CLUSTER=kind found no running kind clusters in ${dir}: run make kind-up first`);
  const restore = await pauseDeployedInfra(state, env);
  return { state, stop: restore };
}

/** The namespace hack/kind-up.sh deploys Infra into (its `namespace=`; a test keeps them equal). */
export const kindInfraNamespace = 'infra-system';
const deployedPrograms = [
  { cluster: 'hub', deployment: 'infra-operator' },
  { cluster: 'spoke', deployment: 'infra-connector' },
] as const;

/**
 * The suite runs its own operators and connectors, as it does locally; the ones kind-up
 * deployed would reconcile the same cluster-scoped objects and fight them. They are scaled
 * to zero for the run and given back their replicas afterwards.
 */
async function pauseDeployedInfra(state: ControlPlaneState, env: NodeJS.ProcessEnv): Promise<() => Promise<void>> {
  const kubectl = async (cluster: ClusterName, args: string[]) => {
    const result = await run('kubectl', ['--kubeconfig', state.clusters[cluster].adminKubeconfig, '-n', kindInfraNamespace, ...args], env, 120_000);
    if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} on the kind ${cluster} failed: ${lastLine(result.stderr)}`);
    return result.stdout;
  };
  const replicas = new Map<string, string>();
  for (const { cluster, deployment } of deployedPrograms) {
    replicas.set(deployment, (await kubectl(cluster, ['get', 'deployment', deployment, '-o', 'jsonpath={.spec.replicas}'])).trim() || '1');
    await kubectl(cluster, ['scale', 'deployment', deployment, '--replicas=0']);
    await kubectl(cluster, ['wait', '--for=delete', 'pod', '-l', `app.kubernetes.io/name=${deployment}`, '--timeout=120s']);
  }
  return async () => {
    for (const { cluster, deployment } of deployedPrograms)
      await kubectl(cluster, ['scale', 'deployment', deployment, `--replicas=${replicas.get(deployment)}`]);
  };
}

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  missing: boolean;
  timedOut: boolean;
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv, timeout: number): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(command, args, { env, timeout }, (error, stdout, stderr) => {
      const code = (error as NodeJS.ErrnoException | null)?.code;
      resolve({ code: error ? (typeof code === 'number' ? code : 1) : 0, stdout, stderr, missing: code === 'ENOENT', timedOut: error?.killed === true });
    });
  });
}

function lastLine(text: string): string {
  return text.trim().split('\n').at(-1) ?? 'no output';
}
