// Locates the Go-built tools (kube-apiserver, kube-controller-manager, etcd, lua-health, loadgen, helm),
// building and caching them on first use.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const repoRoot = join(import.meta.dirname, '..', '..');

export interface ToolPaths {
  etcd: string;
  kubeApiserver: string;
  kubeControllerManager: string;
  /** Runs an Argo CD health check with Argo CD's Lua interpreter (hack/tools/lua-health). */
  luaHealth: string;
  /** The bench's HTTPS load generator (hack/tools/loadgen). */
  loadgen: string;
  /** The helm CLI, for charts/infra (hack/tools/helm). */
  helm: string;
  kubernetesVersion: string;
}

export async function toolPaths(): Promise<ToolPaths> {
  // build-tools.sh answers from its cache in milliseconds; on a cold cache it builds
  // (minutes), streaming progress to our stderr so nobody stares at a silent terminal.
  const child = promisify(execFile)('bash', [join(repoRoot, 'hack', 'build-tools.sh')], { maxBuffer: 1 << 20 });
  child.child.stderr?.pipe(process.stderr);
  const { stdout } = await child;
  const binDir = stdout.trim();
  const goMod = await readFile(join(repoRoot, 'hack', 'tools', 'kube-apiserver', 'go.mod'), 'utf8');
  const kubernetesVersion = /^require k8s\.io\/kubernetes (v\S+)$/m.exec(goMod)?.[1] ?? 'unknown';
  return {
    etcd: join(binDir, 'etcd'),
    kubeApiserver: join(binDir, 'kube-apiserver'),
    kubeControllerManager: join(binDir, 'kube-controller-manager'),
    luaHealth: join(binDir, 'lua-health'),
    loadgen: join(binDir, 'loadgen'),
    helm: join(binDir, 'helm'),
    kubernetesVersion,
  };
}
