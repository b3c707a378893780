// The `infra` CLI end to end: a real operator, connector, hub and spoke; the CLI run as a
// child process with its own INFRA_HOME and KUBECONFIG; the real kubectl using the
// kubeconfig the CLI wrote (current context, exec credential plugin, connector proxy).
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts } from '../hack/controlplane/controlplane.ts';
import { cluster, kubectl, kubectlOk, uniqueName } from '../test/cluster.ts';
import { https } from '../test/https.ts';
import { startInfra, type Infra } from '../test/infra.ts';
import { eventually } from '../test/programs.ts';

const repoRoot = join(import.meta.dirname, '..');
const destination = uniqueName('cli');
const namespace = uniqueName('cli-ns');
const email = `${uniqueName('dana')}@example.com`;
const password = 'a long enough password';
const grantName = uniqueName('dana-view');
let infra: Infra;
let dir: string;
let caFile: string;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

interface Home {
  INFRA_HOME: string;
  KUBECONFIG: string;
}

let home: Home;

async function newHome(): Promise<Home> {
  const root = await mkdtemp(join(dir, 'home-'));
  return { INFRA_HOME: join(root, 'infra'), KUBECONFIG: join(root, 'kube', 'config') };
}

function run(command: string, args: string[], env: Home, input = ''): Promise<Result> {
  return new Promise((resolve) => {
    const child = execFile(command, args, { env: { ...process.env, ...env }, maxBuffer: 16 << 20, timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
    child.stdin!.end(input);
  });
}

/** node cli/main.ts …, as a user would run `infra …` from a checkout. */
const cli = (args: string[], input = '', env: Home = home) => run(process.execPath, [join(repoRoot, 'cli', 'main.ts'), ...args], env, input);
/** The real kubectl with only KUBECONFIG set: the current context the CLI chose. */
const userKubectl = (args: string[], env: Home = home) => run('kubectl', args, env);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'infra-cli-e2e-'));
  await kubectlOk('spoke', ['create', 'namespace', namespace]);
  infra = await startInfra({
    hubKubeconfig: cluster('hub').adminKubeconfig,
    spokeKubeconfig: cluster('spoke').adminKubeconfig,
    namespace: uniqueName('infra'),
    destination,
  });
  caFile = join(dir, 'operator-ca.crt');
  await writeFile(caFile, infra.operatorCA);
  await infra.addUser(email, password);
  await kubectlOk('hub', ['apply', '-f', '-'], {
    input: stringify({ apiVersion: 'infrahq.com/v1alpha1', kind: 'Grant', metadata: { name: grantName }, spec: { user: email, role: 'view', resource: `${destination}.${namespace}` } }),
  });
  // The connector has registered (url, CA) and bound the Grant in the spoke.
  await eventually(async () => {
    expect((await kubectlOk('hub', ['get', 'destination', destination, '-o', 'jsonpath={.spec.url}']))).toBe(infra.connector.proxyURL);
    await kubectlOk('spoke', ['get', 'rolebinding', '-n', namespace, 'infra:view']);
  }, 30_000);
  home = await newHome();
}, 120_000);

afterAll(async () => {
  await infra?.stop();
});

describe('infra CLI against a real installation', () => {
  let sessionKey: string;

  it('logs in with --user and --password-stdin, keeping the session in a 0600 file and writing kubeconfig contexts', async () => {
    const result = await cli(['login', infra.operator.publicURL, '--user', email, '--password-stdin', '--ca-file', caFile], `${password}\n`);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Logged in to ${infra.operator.publicURL} as ${email}`);
    expect((await stat(join(home.INFRA_HOME, 'config.json'))).mode & 0o777).toBe(0o600);
    const config = JSON.parse(await readFile(join(home.INFRA_HOME, 'config.json'), 'utf8')) as { servers: Record<string, { session: { key: string } }> };
    sessionKey = config.servers[infra.operator.publicURL]!.session.key;
    expect(sessionKey).toMatch(/^iss_/);
    const kubeconfig = parse(await readFile(home.KUBECONFIG, 'utf8')) as { contexts: { name: string }[]; clusters: { name: string; cluster: { server: string } }[] };
    expect(kubeconfig.contexts.map((c) => c.name)).toEqual([`infra:${destination}`, `infra:${destination}.${namespace}`]);
    expect(kubeconfig.clusters[0]!.cluster.server).toBe(infra.connector.proxyURL);
    expect((await stat(home.KUBECONFIG)).mode & 0o777).toBe(0o600);
  });

  it('lists the destination and the role', async () => {
    const result = await cli(['list']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^  NAME \\(1\\) +ACCESS\\n  ${destination}\\.${namespace} +view\\n$`));
    const json = JSON.parse((await cli(['list', '-o', 'json'])).stdout) as { user: { email: string }; destinations: { name: string; namespaces: { name: string; roles: string[] }[] }[] };
    expect(json.user.email).toBe(email);
    expect(json.destinations).toMatchObject([{ name: destination, namespaces: [{ name: namespace, roles: ['view'] }] }]);
  });

  it('switches to the namespace, and real kubectl reaches it through the connector with the exec plugin', async () => {
    const used = await cli(['use', `${destination}.${namespace}`]);
    expect(used.stdout).toContain(`Switched to context "infra:${destination}.${namespace}"`);
    const pods = await userKubectl(['get', 'pods', '-n', namespace]);
    expect(pods.stderr).toContain(`No resources found in ${namespace} namespace.`);
    expect(pods.code).toBe(0);
    const forbidden = await userKubectl(['get', 'pods', '-n', 'default']);
    expect(forbidden.code).not.toBe(0);
    expect(forbidden.stderr).toMatch(new RegExp(`pods is forbidden: User "${email.replace('.', '\\.')}" cannot list resource "pods"`));
    // The token is cached for the next kubectl call.
    expect((await stat(join(home.INFRA_HOME, 'tokens', `${destination}.json`))).mode & 0o777).toBe(0o600);
    const unknown = await cli(['use', 'nowhere']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe(`infra: unknown destination "nowhere": use one of ${destination}, ${destination}.${namespace}\n`);
  });

  it('loses access within about 2 s of an admin deleting the Grant', async () => {
    await kubectlOk('hub', ['delete', 'grant', grantName]);
    const deleted = Date.now();
    await eventually(async () => {
      const pods = await userKubectl(['get', 'pods', '-n', namespace]);
      expect(pods.code).not.toBe(0);
      expect(pods.stderr).toContain('forbidden');
    }, 5_000, 100);
    expect(Date.now() - deleted).toBeLessThan(2_500);
  });

  it('reports an unreachable server, a wrong password, an untrusted certificate and a malformed kubeconfig clearly', async () => {
    const [port] = await freePorts(1);
    const other = await newHome();
    const unreachable = await cli(['login', `https://127.0.0.1:${port}`, '--user', email, '--password-stdin'], password, other);
    expect(unreachable).toEqual({ code: 1, stdout: '', stderr: `infra: cannot reach https://127.0.0.1:${port}: is the server address right? (ECONNREFUSED)\n` });

    const wrong = await cli(['login', infra.operator.publicURL, '--user', email, '--password-stdin', '--ca-file', caFile], 'not the password\n', other);
    expect(wrong).toEqual({ code: 1, stdout: '', stderr: `infra: login failed: wrong email or password for ${infra.operator.publicURL}\n` });

    const untrusted = await cli(['login', infra.operator.publicURL, '--user', email, '--password-stdin'], password, other);
    expect(untrusted.code).toBe(1);
    const fingerprint = /--trust-fingerprint ([0-9A-F:]{95})/.exec(untrusted.stderr)?.[1];
    expect(untrusted.stderr).toMatch(/^infra: the certificate of .* is not trusted .*--ca-file/);
    const pinned = await cli(['login', infra.operator.publicURL, '--user', email, '--password-stdin', '--trust-fingerprint', fingerprint!], password, other);
    expect(pinned.stderr).toBe('');
    expect(pinned.code).toBe(0);

    const broken = await newHome();
    const garbage = 'apiVersion: v1\nclusters:\n  - name: mine\n   cluster: [unclosed\n';
    await mkdir(join(broken.KUBECONFIG, '..'), { recursive: true });
    await writeFile(broken.KUBECONFIG, garbage);
    const malformed = await cli(['login', infra.operator.publicURL, '--user', email, '--password-stdin', '--ca-file', caFile], password, broken);
    expect(malformed.code).toBe(1);
    expect(malformed.stderr).toMatch(new RegExp(`^infra: kubeconfig ${broken.KUBECONFIG} is not valid YAML \\(.*\\); it was left unchanged`));
    expect(await readFile(broken.KUBECONFIG, 'utf8')).toBe(garbage);
  });

  it('logs out: the infra:* contexts are gone and the server refuses the old session key', async () => {
    const result = await cli(['logout']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Logged out of ${infra.operator.publicURL}.`);
    const kubeconfig = parse(await readFile(home.KUBECONFIG, 'utf8')) as { contexts: { name: string }[]; 'current-context'?: string };
    expect(kubeconfig.contexts).toEqual([]);
    expect(kubeconfig['current-context']).toBe('');
    const review = await https(`${infra.operator.publicURL}/apis/auth.infrahq.com/v1alpha1/accessreviews`, {
      ca: infra.operatorCA,
      headers: { authorization: `Bearer ${sessionKey}` },
      body: { apiVersion: 'auth.infrahq.com/v1alpha1', kind: 'AccessReview', spec: {} },
    });
    expect(review.status).toBe(401);
    const after = await cli(['list']);
    expect(after).toEqual({ code: 1, stdout: '', stderr: 'infra: not logged in: run `infra login SERVER` first\n' });
  });
});
