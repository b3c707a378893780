// Installs Infra's API into a hub with kubectl: the CRDs, waiting until they are served,
// and the admission policy that keeps each connector to its own destination
// (config/admission), so every suite's connectors run under it as they do in production.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const repoRoot = join(import.meta.dirname, '..', '..');
const crdDir = join(repoRoot, 'crds');
const admissionDir = join(repoRoot, 'config', 'admission');

export async function installHubAPI(kubeconfig: string): Promise<void> {
  const kubectl = (...args: string[]) => promisify(execFile)('kubectl', ['--kubeconfig', kubeconfig, ...args]);
  const apply = (dir: string) => kubectl('apply', '--server-side', '--field-manager=infra-hack', '--force-conflicts', '-k', dir);
  await apply(crdDir);
  await kubectl('wait', '--for=condition=Established', '--timeout=60s', '-l', 'app.kubernetes.io/part-of=infra', 'crd');
  await apply(admissionDir);
}
