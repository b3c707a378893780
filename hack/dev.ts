// `make dev`: a local hub + spoke on loopback with Infra's CRDs and the samples applied,
// running until Ctrl-C. Tests can reuse it with INFRA_CONTROLPLANE_DIR=.infra/dev.
import { execFile } from 'node:child_process';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { ControlPlane, findRunning } from './controlplane/controlplane.ts';
import { installCRDs } from './controlplane/crds.ts';

const repoRoot = join(import.meta.dirname, '..');
const dir = join(repoRoot, '.infra', 'dev');
const operatorNamespace = 'infra-system';

if (await findRunning(dir)) {
  console.error(`A local control plane is already running from ${relative(process.cwd(), dir)}; stop it (Ctrl-C in its terminal) first.`);
  process.exit(1);
}

const started = Date.now();
const controlPlane = await ControlPlane.start({ dir });
const stop = async (reason: string, code: number) => {
  console.error(`\n${reason}; stopping the local control plane...`);
  await controlPlane.stop();
  process.exit(code);
};
process.once('SIGINT', () => void stop('Interrupted', 0));
process.once('SIGTERM', () => void stop('Terminated', 0));
void controlPlane.crashed.then((reason) => stop(reason, 1));

try {
  const { hub, spoke } = controlPlane.state.clusters;
  const kubectl = (kubeconfig: string, ...args: string[]) => promisify(execFile)('kubectl', ['--kubeconfig', kubeconfig, ...args]);
  await installCRDs(hub.adminKubeconfig);
  await kubectl(hub.adminKubeconfig, 'create', 'namespace', operatorNamespace);
  await kubectl(hub.adminKubeconfig, 'apply', '-k', join(repoRoot, 'config', 'samples'));

  const rel = (path: string) => relative(process.cwd(), path);
  console.log(`
Infra's local control plane is up in ${((Date.now() - started) / 1000).toFixed(1)}s (Kubernetes ${controlPlane.state.kubernetesVersion}).

  hub    ${hub.server}    export KUBECONFIG=${rel(hub.adminKubeconfig)}
  spoke  ${spoke.server}    export KUBECONFIG=${rel(spoke.adminKubeconfig)}

  kubectl --kubeconfig ${rel(hub.adminKubeconfig)} get infra        # the samples: grants and providers
  kubectl --kubeconfig ${rel(hub.adminKubeconfig)} explain grant.spec

Run the tests against it from another terminal: INFRA_CONTROLPLANE_DIR=.infra/dev make test
Logs: ${rel(dir)}/*/kube-apiserver.log, ${rel(dir)}/etcd.log. Press Ctrl-C to stop.`);
} catch (err) {
  await stop(`Setting up failed: ${(err as Error).message}`, 1);
}
