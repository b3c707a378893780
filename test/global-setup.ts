// Starts the local hub + spoke control plane once per test run (or reuses the one named
// by INFRA_CONTROLPLANE_DIR, e.g. the one `make dev` keeps in .infra/dev), installs the
// CRDs into the hub, and hands the clusters to every test file through `inject`.
import type { TestProject } from 'vitest/node';
import { ControlPlane, findRunning, type ControlPlaneState } from '../hack/controlplane/controlplane.ts';
import { installCRDs } from '../hack/controlplane/crds.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    controlPlane: ControlPlaneState;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const reuseDir = process.env.INFRA_CONTROLPLANE_DIR;
  const running = reuseDir ? await findRunning(reuseDir) : undefined;
  const started = running ? undefined : await ControlPlane.start();
  const state = running ?? started!.state;
  await installCRDs(state.clusters.hub.adminKubeconfig);
  project.provide('controlPlane', state);
  return async () => {
    await started?.stop();
  };
}
