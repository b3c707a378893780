// Many clusters under one hub and one operator. A is the run's spoke; B is a spoke of its
// own (a second control plane, started here); C is registered on the run's spoke under
// another destination name and spoke namespace, then its connector stops. Each connector
// gets its identity as `infra destinations add` makes it. Checked: a Grant on A never
// creates anything in B; `infra list` and the kubeconfig show both with their namespaces;
// a token for A is refused at B's proxy; deleting Destination B leaves A untouched; C shows
// disconnected within its heartbeat timeout, and its Grants say why.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlPlane } from '../hack/controlplane/controlplane.ts';
import { runCommand } from '../hack/local-infra/command.ts';
import { addDestination } from '../hack/local-infra/destinations.ts';
import type { Infra } from '../hack/local-infra/infra.ts';
import { eventually, startConnector, type RunningConnector } from '../hack/local-infra/programs.ts';
import { createProxyIdentity } from '../hack/local-infra/proxy-identity.ts';
import { heartbeatTimeoutMs } from '../operator/controllers/destination.ts';
import { applyHub, cluster, grantObject, kubectl, kubectlOk, startTestInfra, uniqueName } from '../test/cluster.ts';
import { infraCLI, newUserHome, userKubectl, type UserHome } from '../test/user-shell.ts';

const namespace = uniqueName('infra');
const a = uniqueName('spoke-a');
const b = uniqueName('spoke-b');
const c = uniqueName('spoke-c');
/** A namespace that exists in both spokes, so a Grant could name it in either. */
const shared = uniqueName('web');
const password = 'a long enough password';
/** Grants on A and on B. */
const alice = `${uniqueName('alice')}@example.com`;
/** A Grant on A only. */
const carol = `${uniqueName('carol')}@example.com`;
/** A Grant on C only. */
const dave = `${uniqueName('dave')}@example.com`;

let infra: Infra;
let spokeB: ControlPlane;
let connectorB: RunningConnector;
let connectorC: RunningConnector | undefined;
let cStoppedAt: number;
let dir: string;
let aliceHome: UserHome;

const kubectlB = async (args: string[], input?: string) => {
  const result = await runCommand('kubectl', ['--kubeconfig', spokeB.state.clusters.spoke.adminKubeconfig, ...args], input === undefined ? {} : { input });
  if (result.code !== 0) throw new Error(`kubectl (spoke B) ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
};
const grant = (user: string, role: string, resource: string) => grantObject(uniqueName('grant'), { user, role, resource });
/** A jsonpath over every binding Infra owns in a spoke, cluster-wide and in every namespace. */
const infraBindings = (kubectl: (args: string[]) => Promise<string>, jsonpath: string) =>
  kubectl(['get', 'clusterrolebindings,rolebindings', '-A', '-l', 'app.kubernetes.io/managed-by=infra', '-o', `jsonpath=${jsonpath}`]);
/** Who Infra's bindings in a spoke name, every binding Infra owns there. */
const boundSubjects = async (kubectl: (args: string[]) => Promise<string>) =>
  (await infraBindings(kubectl, '{.items[*].subjects[*].name}')).split(' ').filter(Boolean);
const kubectlA = (args: string[]) => kubectlOk('spoke', args);
const destinationStatus = async (name: string) =>
  JSON.parse(await kubectlOk('hub', ['get', 'destination', name, '-o', 'jsonpath={.status}'])) as { connected?: boolean; conditions?: unknown[] };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'infra-multi-spoke-'));
  // B's control plane starts while A's Infra does: both take a while on two cores.
  const startingB = ControlPlane.start();
  infra = await startTestInfra({ namespace, destination: a }, { [alice]: password, [carol]: password, [dave]: password });
  spokeB = await startingB;
  await kubectlA(['create', 'namespace', shared]);
  await kubectlB(['create', 'namespace', shared]);
  await kubectlB(['create', 'namespace', namespace]);

  const proxyIdentityB = await createProxyIdentity((args, input) => kubectlB(args, input), namespace, dir);
  const connectorFor = async (destination: string, spoke: { kubeconfig: string; namespace: string; proxyKubeconfig: string }) =>
    startConnector({
      ...infra.connectorOptions,
      destination,
      kubeconfig: spoke.kubeconfig,
      namespace: spoke.namespace,
      proxyKubeconfig: spoke.proxyKubeconfig,
      bootstrapToken: await addDestination(cluster('hub').adminKubeconfig, namespace, destination),
    });
  connectorB = await connectorFor(b, { kubeconfig: spokeB.state.clusters.spoke.adminKubeconfig, namespace, proxyKubeconfig: proxyIdentityB.kubeconfig });
  // C: the run's spoke again, in a spoke namespace of its own, under its own destination name.
  const namespaceC = uniqueName('infra-c');
  await kubectlA(['create', 'namespace', namespaceC]);
  connectorC = await connectorFor(c, { kubeconfig: infra.connectorOptions.kubeconfig, namespace: namespaceC, proxyKubeconfig: infra.proxyIdentity.kubeconfig });

  await applyHub([grant(alice, 'view', `${a}.${shared}`), grant(alice, 'edit', `${b}.${shared}`), grant(carol, 'view', a), grant(dave, 'view', c)]);
  await eventually(async () => {
    for (const name of [a, b, c]) expect((await destinationStatus(name)).connected).toBe(true);
  }, 60_000);
  await eventually(async () => expect(await boundSubjects(kubectlA)).toEqual(expect.arrayContaining([alice, carol])), 30_000);
  await eventually(async () => expect(await boundSubjects(kubectlB)).toContain(alice), 30_000);
  // C goes away; its Destination must say so within the heartbeat timeout.
  await connectorC.stop();
  connectorC = undefined;
  cStoppedAt = Date.now();

  aliceHome = await newUserHome(dir);
  const caFile = join(dir, 'operator-ca.crt');
  await writeFile(caFile, infra.operatorCA);
  const login = await infraCLI(['login', infra.operator.publicURL, '--user', alice, '--password-stdin', '--ca-file', caFile], aliceHome, password);
  expect(login.code, login.stderr).toBe(0);
}, 240_000);

afterAll(async () => {
  await Promise.all([connectorB?.stop(), connectorC?.stop()]);
  await infra?.stop();
  await spokeB?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('two spokes and a third gone, under one hub and one operator', () => {
  it('a Grant on A never creates anything in B', async () => {
    const inB = await boundSubjects(kubectlB);
    expect(inB).toContain(alice);
    expect(inB).not.toContain(carol);
    expect(inB).not.toContain(dave);
    // Alice's Grant on A is a view binding in A's namespace; in B she has edit only.
    expect(await kubectlA(['get', 'rolebindings', '-n', shared, '-l', 'app.kubernetes.io/managed-by=infra', '-o', 'jsonpath={.items[*].roleRef.name}'])).toBe(
      'view',
    );
    expect(await kubectlB(['get', 'rolebindings', '-n', shared, '-l', 'app.kubernetes.io/managed-by=infra', '-o', 'jsonpath={.items[*].roleRef.name}'])).toBe(
      'edit',
    );
    expect(await kubectlB(['get', 'clusterrolebindings', '-l', 'app.kubernetes.io/managed-by=infra', '-o', 'name'])).toBe('');
  });

  it('infra list and the kubeconfig show both destinations with their namespaces, and kubectl reaches each', async () => {
    const list = await infraCLI(['list', '-o', 'json'], aliceHome);
    expect(list.code, list.stderr).toBe(0);
    const destinations = (JSON.parse(list.stdout) as { destinations: { name: string; namespaces: { name: string; roles: string[] }[] }[] }).destinations;
    expect(destinations).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: a, namespaces: [{ name: shared, roles: ['view'] }] }),
        expect.objectContaining({ name: b, namespaces: [{ name: shared, roles: ['edit'] }] }),
      ]),
    );
    const kubeconfig = parse(await readFile(aliceHome.KUBECONFIG, 'utf8')) as {
      contexts: { name: string }[];
      clusters: { name: string; cluster: { server: string } }[];
    };
    expect(kubeconfig.contexts.map((ctx) => ctx.name)).toEqual(expect.arrayContaining([`infra:${a}.${shared}`, `infra:${b}.${shared}`]));
    const servers = kubeconfig.clusters.map((cl) => cl.cluster.server);
    expect(servers).toEqual(expect.arrayContaining([infra.connector.proxyURL, connectorB.proxyURL]));
    for (const destination of [a, b]) {
      const pods = await userKubectl(['--context', `infra:${destination}.${shared}`, 'get', 'pods', '-n', shared], aliceHome);
      expect(pods.stderr).toContain(`No resources found in ${shared} namespace.`);
    }
  });

  it("a token for A is refused at B's proxy, and B's own token is not", async () => {
    const forA = await infra.token(alice, password, a);
    const refused = await runCommand('kubectl', ['--kubeconfig', await infra.proxyKubeconfig(forA, connectorB.proxyURL, b), 'get', 'pods', '-n', shared]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/Unauthorized|must be logged in/);
    const forB = await infra.token(alice, password, b);
    const allowed = await runCommand('kubectl', ['--kubeconfig', await infra.proxyKubeconfig(forB, connectorB.proxyURL, b), 'get', 'pods', '-n', shared]);
    expect(allowed.stderr).toContain(`No resources found in ${shared} namespace.`);
  });

  it('deleting Destination B leaves A untouched', async () => {
    const bindingVersionsInA = () => infraBindings(kubectlA, '{.items[*].metadata.resourceVersion}');
    const bindingsInA = await bindingVersionsInA();
    await kubectlOk('hub', ['delete', 'destination', b]);
    await eventually(async () => expect((await kubectl('hub', ['get', 'destination', b])).code).not.toBe(0));
    // A's connector heartbeats on, and its bindings are the same objects, unchanged.
    const seen = await kubectlOk('hub', ['get', 'destination', a, '-o', 'jsonpath={.status.lastSeenAt}']);
    await eventually(async () => expect(await kubectlOk('hub', ['get', 'destination', a, '-o', 'jsonpath={.status.lastSeenAt}'])).not.toBe(seen), 45_000);
    expect((await destinationStatus(a)).connected).toBe(true);
    expect(await bindingVersionsInA()).toBe(bindingsInA);
    const forA = await infra.token(carol, password, a);
    const pods = await runCommand('kubectl', ['--kubeconfig', await infra.proxyKubeconfig(forA), 'get', 'pods', '-n', shared]);
    expect(pods.stderr).toContain(`No resources found in ${shared} namespace.`);
  }, 60_000);

  it(
    'C shows disconnected within its heartbeat timeout, and its Grant says why',
    async () => {
      await eventually(
        async () => {
          expect((await destinationStatus(c)).connected).toBe(false);
          const grants = JSON.parse(await kubectlOk('hub', ['get', 'grants', '-l', `infrahq.com/destination=${c}`, '-o', 'json'])) as {
            items: { status?: { conditions?: { type: string; status: string; reason: string; message: string }[] } }[];
          };
          const ready = grants.items[0]?.status?.conditions?.find((cond) => cond.type === 'Ready');
          expect(ready).toMatchObject({ status: 'False', reason: 'DestinationDisconnected' });
          expect(ready?.message).toMatch(new RegExp(`^destination ${c} is disconnected: no heartbeat from its connector since `));
        },
        heartbeatTimeoutMs + 30_000,
        1_000,
      );
      expect(Date.now() - cStoppedAt).toBeLessThan(heartbeatTimeoutMs + 30_000);
    },
    heartbeatTimeoutMs + 60_000,
  );
});
