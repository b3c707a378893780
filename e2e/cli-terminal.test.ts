// `infra login` as a person at a terminal sees it: the bundled CLI on a pseudo-terminal,
// driven with the keys a person presses, against two replicas of a real operator (two
// servers the CLI knows) with a Provider at the real test OpenID Provider, the real hub
// and spoke; then `infra use <TAB>` in the real bash from the names that login cached.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { programBundle } from '../hack/build.ts';
import { startInfra, type Infra } from '../hack/local-infra/infra.ts';
import { eventually, startOperator, type RunningOperator } from '../hack/local-infra/programs.ts';
import { applyHub, cluster, createProviderSecret, grantObject, kubectl, kubectlOk, oidcProviderObject, uniqueName } from '../test/cluster.ts';
import { startOIDCProvider, type TestOP } from '../test/oidc-provider.ts';
import { keys, openTerminal } from '../test/terminal.ts';
import { infraCLI, newUserHome, type UserHome } from '../test/user-shell.ts';

const run = promisify(execFile);
const destination = uniqueName('tty');
const namespace = uniqueName('tty-ns');
const email = `${uniqueName('erin')}@example.com`;
const password = 'a long enough password';
const operatorNamespace = uniqueName('infra');
const grantName = uniqueName('tty-grant');
const provider = uniqueName('tty-corp');
let op: TestOP;
let infra: Infra;
let replica: RunningOperator;
let dir: string;
let caFile: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'infra-cli-terminal-'));
  op = await startOIDCProvider();
  await kubectlOk('spoke', ['create', 'namespace', namespace]);
  // The operators reach the OP over HTTPS with the OP's own CA, as with a private IdP.
  const operatorEnv = { NODE_EXTRA_CA_CERTS: op.caFile };
  infra = await startInfra({
    hubKubeconfig: cluster('hub').adminKubeconfig,
    spokeKubeconfig: cluster('spoke').adminKubeconfig,
    namespace: operatorNamespace,
    destination,
    operatorEnv,
  });
  replica = await startOperator({
    kubeconfig: cluster('hub').adminKubeconfig,
    namespace: operatorNamespace,
    identity: uniqueName('replica'),
    env: operatorEnv,
  });
  await createProviderSecret(operatorNamespace, { name: `${provider}-oidc`, provider, issuer: op.issuer, clientSecret: op.client.secret });
  caFile = join(dir, 'operator-ca.crt');
  await writeFile(caFile, infra.operatorCA);
  await infra.addUser(email, password);
  await applyHub([
    grantObject(grantName, { user: email, role: 'view', resource: `${destination}.${namespace}` }),
    oidcProviderObject(provider, { issuer: op.issuer, clientID: op.client.id, secretName: `${provider}-oidc` }),
  ]);
  await eventually(async () => {
    expect(await kubectlOk('hub', ['get', 'provider', provider, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'])).toBe('True');
  }, 30_000);
  await eventually(async () => {
    expect(await kubectlOk('hub', ['get', 'destination', destination, '-o', 'jsonpath={.spec.url}'])).toBe(infra.connector.proxyURL);
  }, 30_000);
}, 120_000);

afterAll(async () => {
  await kubectl('hub', ['delete', 'grant', grantName, '--ignore-not-found']);
  await kubectl('hub', ['delete', 'provider', provider, '--ignore-not-found']);
  await replica?.stop();
  await infra?.stop();
  await op?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A home that knows both replicas as servers, logged in to the first one last; and an access key of its user's. */
async function homeWithTwoServers(): Promise<{ home: UserHome; key: string }> {
  const home = await newUserHome(dir);
  for (const server of [replica.publicURL, infra.operator.publicURL]) {
    const login = await infraCLI(['login', server, '--user', email, '--password-stdin', '--ca-file', caFile], home, password);
    expect(login.stderr).toBe('');
  }
  const key = (await infraCLI(['keys', 'add', uniqueName('tty-key')], home)).stdout.trim();
  expect(key).toMatch(/^iak_/);
  return { home, key };
}

describe('infra login on a terminal', () => {
  it('offers the known servers to pick from, then an access key beside providers and password, read without echo', async () => {
    const { home, key } = await homeWithTwoServers();
    const terminal = openTerminal(process.execPath, [programBundle('cli'), 'login'], home);
    try {
      await terminal.waitFor('Select a server:');
      // The servers in the order they were first used, the last one used under the cursor.
      await terminal.waitFor(new RegExp(`  ${replica.publicURL} \\(${email}\\)\\n❯ ${infra.operator.publicURL} \\(${email}\\)\\n  another server…`));
      terminal.type(keys.up);
      await terminal.waitFor(new RegExp(`❯ ${replica.publicURL}`));
      terminal.type(keys.enter);

      // The ready providers first (this suite's, and any other a suite left), then the built-in ways.
      await terminal.waitFor(new RegExp(`Log in with:\\n❯ [^]*${provider} \\(oidc\\)\\n[^]*  email and password\\n  an access key`));
      const menu = terminal.screen().length;
      terminal.type(keys.up); // the list wraps: up from the first is the last
      await terminal.waitFor('❯ an access key', { from: menu });
      terminal.type(keys.enter);

      await terminal.waitFor('Access key:');
      terminal.type(`${key}${keys.enter}`);
      await terminal.waitFor(`Logged in to ${replica.publicURL} as ${email}`);
      expect(await terminal.exited).toBe(0);
    } finally {
      terminal.kill();
    }
    expect(terminal.screen()).not.toContain(key);
    expect(terminal.screen()).not.toMatch(/\*{8}/); // not even a mask of its length
    const config = JSON.parse(await readFile(join(home.INFRA_HOME, 'config.json'), 'utf8')) as { current: string };
    expect(config.current).toBe(replica.publicURL);
    expect((await infraCLI(['info'], home)).stdout).toMatch(new RegExp(`Server: +${replica.publicURL}\\nUser: +${email}`));
  });

  it('without a terminal, names `infra login SERVER` instead of guessing between the known servers', async () => {
    const { home, key } = await homeWithTwoServers();
    const result = await infraCLI(['login', '--key-stdin'], home, key);
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr: `infra: name the server to log in to, one of ${replica.publicURL}, ${infra.operator.publicURL}: infra login SERVER (on a terminal, infra login offers them)\n`,
    });
  });

  it('`infra use <TAB>` in bash completes the destinations login cached, without running infra or touching the network', async () => {
    const { home } = await homeWithTwoServers();
    const script = join(dir, 'infra.bash');
    await writeFile(script, (await infraCLI(['completion', 'bash'], home)).stdout);
    // The operators stop first: completion must not need them.
    const complete = async (typed: string) => {
      const program = `source "$1"; COMP_WORDS=(infra use '${typed}'); COMP_CWORD=2; _infra; printf '%s\\n' "\${COMPREPLY[@]}"`;
      const { stdout } = await run('bash', ['--norc', '--noprofile', '-c', program, 'bash', script], {
        env: { PATH: '/usr/bin:/bin', HOME: dir, INFRA_HOME: home.INFRA_HOME },
      });
      return stdout.split('\n').filter(Boolean);
    };
    await infra.operator.stop();
    await replica.stop();
    expect(await complete('')).toEqual([destination, `${destination}.${namespace}`]);
    expect(await complete(`${destination}.`)).toEqual([`${destination}.${namespace}`]);
    expect(await complete('nope')).toEqual([]);
  });
});
