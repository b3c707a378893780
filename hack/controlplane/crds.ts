// Installs Infra's CRDs into a cluster with kubectl and waits until they are served.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const crdDir = join(import.meta.dirname, '..', '..', 'crds');

export async function installCRDs(kubeconfig: string): Promise<void> {
  const kubectl = (...args: string[]) => promisify(execFile)('kubectl', ['--kubeconfig', kubeconfig, ...args]);
  await kubectl('apply', '--server-side', '--field-manager=infra-hack', '--force-conflicts', '-k', crdDir);
  await kubectl('wait', '--for=condition=Established', '--timeout=60s', '-l', 'app.kubernetes.io/part-of=infra', 'crd');
}
