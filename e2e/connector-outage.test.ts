// A hub outage must not cost anyone access: the spoke keeps its bindings, the proxy keeps
// accepting valid tokens on cached keys, and the connector converges once the hub is back
// without a restart. This suite runs its own control plane, because it takes the hub down.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlPlane } from '../hack/controlplane/controlplane.ts';
import { installHubAPI } from '../hack/controlplane/crds.ts';
import { grantObject, manifest, uniqueName } from '../test/cluster.ts';
import { startInfra, type Infra } from '../hack/local-infra/infra.ts';
import { eventually } from '../hack/local-infra/programs.ts';

const run = promisify(execFile);
const outageMs = 30_000;
const destination = uniqueName('prod');
const web = uniqueName('web');
const bob = `${uniqueName('bob')}@example.com`;
const password = 'outages happen, access stays';
let controlPlane: ControlPlane;
let infra: Infra;

async function kubectl(
  cluster: 'hub' | 'spoke',
  args: string[],
  options: { kubeconfig?: string; input?: string } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const kubeconfig = options.kubeconfig ?? controlPlane.state.clusters[cluster].adminKubeconfig;
  try {
    const child = run('kubectl', ['--kubeconfig', kubeconfig, '--request-timeout=5s', ...args]);
    child.child.stdin!.end(options.input ?? '');
    const { stdout, stderr } = await child;
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

const grant = (name: string, resource: string) => manifest([grantObject(name, { user: bob, role: 'view', resource })]);
const bindings = async () =>
  (
    await kubectl('spoke', [
      'get',
      'rolebindings,clusterrolebindings',
      '-A',
      '-l',
      'app.kubernetes.io/managed-by=infra',
      '-o',
      'jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name}={.subjects[*].name} {end}',
    ])
  ).stdout;

beforeAll(async () => {
  controlPlane = await ControlPlane.start();
  await installHubAPI(controlPlane.state.clusters.hub.adminKubeconfig);
  await kubectl('spoke', ['create', 'namespace', web]);
  infra = await startInfra({
    hubKubeconfig: controlPlane.state.clusters.hub.adminKubeconfig,
    spokeKubeconfig: controlPlane.state.clusters.spoke.adminKubeconfig,
    namespace: uniqueName('infra'),
    destination,
  });
  await infra.addUser(bob, password);
}, 120_000);

afterAll(async () => {
  await infra?.stop();
  await controlPlane?.stop();
});

describe('a 30 s hub outage', () => {
  it("keeps the spoke's bindings and the proxy working, and converges afterwards without a restart", async () => {
    await kubectl('hub', ['apply', '-f', '-'], { input: grant(uniqueName('bob-view'), `${destination}.${web}`) });
    await eventually(async () => expect(await bindings()).toContain(`${web}/infra:view=${bob}`), 20_000);
    const before = await bindings();
    const kubeconfig = await infra.proxyKubeconfig(await infra.token(bob, password));
    expect((await kubectl('spoke', ['get', 'pods', '-n', web], { kubeconfig })).code).toBe(0);

    const restore = await controlPlane.takeDown('hub');
    const downSince = Date.now();
    try {
      expect((await kubectl('hub', ['get', 'grants'])).code).not.toBe(0);
      while (Date.now() - downSince < outageMs) {
        expect(await bindings()).toBe(before);
        const viaProxy = await kubectl('spoke', ['get', 'pods', '-n', web], { kubeconfig });
        expect(viaProxy.code, viaProxy.stderr).toBe(0);
        expect((await kubectl('spoke', ['get', 'pods', '-n', 'default'], { kubeconfig })).code).not.toBe(0);
        await new Promise((r) => setTimeout(r, 3000));
      }
    } finally {
      await restore();
    }

    // Back: a Grant made now reaches the spoke through the connector's restarted watch.
    const later = uniqueName('after');
    await kubectl('spoke', ['create', 'namespace', later]);
    await kubectl('hub', ['apply', '-f', '-'], { input: grant(uniqueName('bob-after'), `${destination}.${later}`) });
    await eventually(async () => expect(await bindings()).toContain(`${later}/infra:view=${bob}`), 30_000, 250);
    expect(await bindings()).toContain(`${web}/infra:view=${bob}`);
    expect(infra.connector.process.exitCode).toBeNull();
    const connectorLog = infra.connector.logs.join('\n');
    expect(connectorLog).toContain('restarting');
  }, 150_000);
});
