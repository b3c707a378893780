// Builds the programs' bundles the suites start (dist/, what ships) and this machine's
// `infra` single executable (cached: seconds when the CLI is unchanged), starts (or finds) the
// hub and spoke the cluster suites run against once per test run (E2E_CLUSTER=local|kind,
// see hack/e2e-clusters.ts), installs Infra's API into the hub (the CRDs and the connector
// isolation policy), and hands the clusters to every test file through `inject`.
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { buildPrograms } from '../hack/build.ts';
import { buildExecutable, hostPlatform } from '../hack/executable.ts';
import type { ControlPlaneState } from '../hack/controlplane/controlplane.ts';
import { installHubAPI } from '../hack/controlplane/crds.ts';
import { startE2EClusters } from '../hack/e2e-clusters.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    controlPlane: ControlPlaneState;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const starting = startE2EClusters(process.env, join(import.meta.dirname, '..'));
  try {
    const host = hostPlatform();
    // After the bundles: each build stops esbuild's service when it is done. Where no
    // executable can be built, e2e/cli-distribution.test.ts skips its tests.
    const building = buildPrograms().then(() => (host instanceof Error ? undefined : buildExecutable(host)));
    const [clusters] = await Promise.all([starting, building]);
    await installHubAPI(clusters.state.clusters.hub.adminKubeconfig);
    project.provide('controlPlane', clusters.state);
    return () => clusters.stop();
  } catch (err) {
    // vitest runs no teardown for a setup that threw: stop what started (a broken CRD or
    // a failed build must not leave etcd and the API servers running).
    await starting.then((clusters) => clusters.stop()).catch(() => undefined);
    throw err;
  }
}
