// No long-lived hub credential on a spoke (docs/adr/0021-connector-bootstrap.md), on the
// real hub and spoke: `infra destinations add` (the real CLI, an Infra admin's session)
// makes a destination and prints a single-use bootstrap credential; a real connector
// exchanges it for a bound token of its own ServiceAccount, keeps it in a spoke Secret,
// renews it, and starts again from it; an expired credential, another destination's, or
// one used twice stops the connector with the reason and leaves the spoke as it was;
// `infra destinations remove` revokes the identity.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bootstrap } from '../api/connector-bootstrap.ts';
import { storedHubCredential, writeConnectorHubKubeconfig } from '../hack/local-infra/destinations.ts';
import type { Infra } from '../hack/local-infra/infra.ts';
import { eventually, startConnector, type RunningConnector } from '../hack/local-infra/programs.ts';
import { cluster, kubectl, kubectlOk, startTestInfra, uniqueName } from '../test/cluster.ts';
import { infraCLI, newUserHome, type UserHome } from '../test/user-shell.ts';

const admin = `${uniqueName('root')}@example.com`;
const password = 'a long enough password';
const namespace = uniqueName('infra');
let infra: Infra;
let dir: string;
let adminHome: UserHome;
const started: RunningConnector[] = [];

const cli = (args: string[]) => infraCLI(args, adminHome, '');

/** `infra destinations add NAME -o json`, as a script would run it. */
async function add(name: string, ...flags: string[]): Promise<Bootstrap> {
  const result = await cli(['destinations', 'add', name, '-o', 'json', ...flags]);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as Bootstrap;
}

/** A connector for `destination` in a spoke namespace of its own, with a bootstrap credential. */
async function connect(destination: string, spokeNamespace: string, bootstrapToken: string): Promise<RunningConnector> {
  const connector = await startConnector({ ...infra.connectorOptions, destination, namespace: spokeNamespace, bootstrapToken });
  started.push(connector);
  return connector;
}

/** What a refused connector leaves in its spoke namespace: no Secret of its own. */
async function secretsIn(spokeNamespace: string): Promise<string[]> {
  const names = await kubectlOk('spoke', ['get', 'secrets', '-n', spokeNamespace, '-o', 'jsonpath={.items[*].metadata.name}']);
  return names.split(' ').filter(Boolean);
}

async function freshSpokeNamespace(prefix: string): Promise<string> {
  const name = uniqueName(prefix);
  await kubectlOk('spoke', ['create', 'namespace', name]);
  return name;
}

const lastSeen = (destination: string) => kubectlOk('hub', ['get', 'destination', destination, '-o', 'jsonpath={.status.lastSeenAt}']);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'infra-bootstrap-e2e-'));
  infra = await startTestInfra(
    {
      namespace,
      destination: uniqueName('boot'),
      operatorConfig: { bootstrapAdmins: [admin] },
      // Kubernetes' shortest bound token is 10 minutes: renew far sooner, to watch it happen.
      hubCredential: { lifetime: '10m', renewEvery: '3s' },
    },
    { [admin]: password },
  );
  const caFile = join(dir, 'operator-ca.crt');
  await writeFile(caFile, infra.operatorCA);
  adminHome = await newUserHome(dir);
  const login = await infraCLI(['login', infra.operator.publicURL, '--user', admin, '--password-stdin', '--ca-file', caFile], adminHome, password);
  expect(login.code, login.stderr).toBe(0);
}, 120_000);

afterAll(async () => {
  await Promise.all(started.map((c) => c.stop()));
  await infra?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('infra destinations add', () => {
  const destination = uniqueName('added');
  let spokeNamespace: string;
  let bootstrap: Bootstrap;

  it('makes the Destination and its connector account, and prints a bootstrap credential, the Secret to keep it in and the Helm values that install the connector', async () => {
    const printed = await cli(['destinations', 'add', destination, '--expires-in', '10m']);
    expect(printed.code, printed.stderr).toBe(0);
    const token = /^\s+(infra-bootstrap\.\S+)$/m.exec(printed.stdout)?.[1];
    expect(token, printed.stdout).toMatch(new RegExp(`^infra-bootstrap\\.${destination}\\.`));
    expect(printed.stdout).toContain(`create secret generic infra-connector-bootstrap --from-literal=token=${token}`);
    expect(printed.stdout).not.toContain('bootstrapToken:');
    expect(printed.stdout).toContain(`destination: ${destination}`);
    expect(printed.stdout).toContain(`issuer: ${infra.operator.publicURL}`);
    expect(printed.stdout).toContain('helm install infra charts/infra');
    expect(await kubectlOk('hub', ['get', 'destination', destination, '-o', 'jsonpath={.metadata.name}'])).toBe(destination);
    expect(await kubectlOk('hub', ['get', 'serviceaccount', '-n', namespace, `connector-${destination}`, '-o', 'jsonpath={.metadata.name}'])).toBe(
      `connector-${destination}`,
    );
    // Adding again renews the credential: the one printed above no longer works.
    bootstrap = await add(destination);
    expect(bootstrap.bootstrapToken).not.toBe(token);
  });

  it('the connector exchanges it for its own expiring hub token, kept in a spoke Secret, and registers', async () => {
    spokeNamespace = await freshSpokeNamespace('boot-ok');
    await connect(destination, spokeNamespace, bootstrap.bootstrapToken);
    const stored = await storedHubCredential(cluster('spoke').adminKubeconfig, spokeNamespace);
    expect(stored?.['serviceAccount']).toBe(`connector-${destination}`);
    const lifetime = Date.parse(stored!['expiresAt']!) - Date.now();
    expect(lifetime).toBeGreaterThan(0);
    expect(lifetime).toBeLessThanOrEqual(11 * 60_000);
    await eventually(async () => expect(await lastSeen(destination)).not.toBe(''), 30_000);
    // The token is its ServiceAccount's, as the hub authenticates it.
    const kubeconfig = join(dir, `${destination}-hub.kubeconfig`);
    await writeConnectorHubKubeconfig(cluster('spoke').adminKubeconfig, spokeNamespace, kubeconfig);
    const whoami = await kubectl('hub', ['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}'], { kubeconfig });
    expect(whoami.stdout).toBe(`system:serviceaccount:${namespace}:connector-${destination}`);
  });

  it('starts again from the stored credential, the spent bootstrap credential still in its config, without asking the operator', async () => {
    const first = started.pop()!;
    await first.stop();
    const restarted = await connect(destination, spokeNamespace, bootstrap.bootstrapToken);
    expect(restarted.logs.join('\n')).not.toContain('exchanged the bootstrap credential');
    const before = await lastSeen(destination);
    await eventually(async () => expect(await lastSeen(destination)).not.toBe(before), 45_000);
  });

  it('refuses the same credential in another spoke: used twice, and nothing is written there', async () => {
    const elsewhere = await freshSpokeNamespace('boot-twice');
    await expect(connect(destination, elsewhere, bootstrap.bootstrapToken)).rejects.toThrow(
      new RegExp(`bootstrap credential for ${destination} was already used at .*; each is good once: run \`infra destinations add ${destination}\``),
    );
    expect(await secretsIn(elsewhere)).toEqual([]);
  });

  it('refuses another destination’s credential, naming both, and writes nothing', async () => {
    const other = uniqueName('other');
    const otherBootstrap = await add(other);
    const elsewhere = await freshSpokeNamespace('boot-other');
    await expect(connect(destination, elsewhere, otherBootstrap.bootstrapToken)).rejects.toThrow(
      `this bootstrap credential is for destination ${other}, not ${destination}`,
    );
    expect(await secretsIn(elsewhere)).toEqual([]);
    // Refused before it was spent: it still works for its own destination.
    await connect(other, await freshSpokeNamespace('boot-other-ok'), otherBootstrap.bootstrapToken);
  });

  it('refuses an expired credential and writes nothing', async () => {
    const late = uniqueName('late');
    const expiring = await add(late, '--expires-in', '1s');
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const elsewhere = await freshSpokeNamespace('boot-late');
    await expect(connect(late, elsewhere, expiring.bootstrapToken)).rejects.toThrow(
      new RegExp(`this bootstrap credential for ${late} expired at ${expiring.expiresAt.replace(/\./g, '\\.')}: run \`infra destinations add ${late}\``),
    );
    expect(await secretsIn(elsewhere)).toEqual([]);
  });

  it('infra destinations remove revokes the connector’s hub identity: its token stops working', async () => {
    const kubeconfig = join(dir, `${destination}-hub.kubeconfig`);
    await writeConnectorHubKubeconfig(cluster('spoke').adminKubeconfig, spokeNamespace, kubeconfig);
    expect((await kubectl('hub', ['get', 'grants'], { kubeconfig })).code).toBe(0);
    const removed = await cli(['destinations', 'remove', destination]);
    expect(removed.code, removed.stderr).toBe(0);
    // The hub's garbage collector deletes the account the Destination owned, and every token of it dies.
    await eventually(
      async () => {
        const refused = await kubectl('hub', ['get', 'grants'], { kubeconfig });
        expect(refused.stderr).toMatch(/Unauthorized|must be logged in/);
      },
      30_000,
      500,
    );
  });
});

describe('the connector’s hub credential', () => {
  it('is renewed before it expires, in the spoke Secret too, and the renewed token keeps the connector registered', async () => {
    const spoke = cluster('spoke').adminKubeconfig;
    const ns = infra.connectorOptions.namespace;
    const first = await storedHubCredential(spoke, ns);
    const renewed = await eventually(
      async () => {
        const now = await storedHubCredential(spoke, ns);
        expect(now?.['token']).not.toBe(first?.['token']);
        expect(Date.parse(now!['expiresAt']!)).toBeGreaterThan(Date.parse(first!['expiresAt']!));
        return now!;
      },
      20_000,
      500,
    );
    expect(infra.connector.logs.some((line) => line.includes('hub credential renewed'))).toBe(true);
    const kubeconfig = await infra.connectorHubKubeconfig();
    const whoami = await kubectl('hub', ['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}'], { kubeconfig });
    expect(whoami.stdout).toBe(`system:serviceaccount:${namespace}:${renewed['serviceAccount']}`);
    const before = await lastSeen(infra.connectorOptions.destination);
    await eventually(async () => expect(await lastSeen(infra.connectorOptions.destination)).not.toBe(before), 45_000);
  });
});
