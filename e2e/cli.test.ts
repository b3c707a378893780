// The `infra` CLI end to end: a real operator, connector, hub and spoke; the CLI run as a
// child process with its own INFRA_HOME and KUBECONFIG; the real kubectl using the
// kubeconfig the CLI wrote (current context, exec credential plugin, connector proxy).
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { connect } from 'node:tls';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts } from '../hack/controlplane/controlplane.ts';
import { cluster, kubectlOk, startTestInfra, uniqueName } from '../test/cluster.ts';
import { https } from '../hack/local-infra/https.ts';
import type { Infra } from '../hack/local-infra/infra.ts';
import { eventually, startOperator } from '../hack/local-infra/programs.ts';
import { keyPin } from '../cli/pinning.ts';
import { infraCLI, newUserHome, userKubectl, type UserHome } from '../test/user-shell.ts';

const destination = uniqueName('cli');
const namespace = uniqueName('cli-ns');
const email = `${uniqueName('dana')}@example.com`;
const admin = `${uniqueName('root')}@example.com`;
const password = 'a long enough password';
const operatorNamespace = uniqueName('infra');
let infra: Infra;
let dir: string;
let caFile: string;

let home: UserHome;
let adminHome: UserHome;

const newHome = () => newUserHome(dir);
/** `infra …` in dana's home unless another is given. */
const cli = (args: string[], input = '', env: UserHome = home) => infraCLI(args, env, input);
const kubectlAs = (args: string[], env: UserHome = home) => userKubectl(args, env);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'infra-cli-e2e-'));
  await kubectlOk('spoke', ['create', 'namespace', namespace]);
  infra = await startTestInfra(
    { namespace: operatorNamespace, destination, operatorConfig: { bootstrapAdmins: [admin] } },
    { [email]: password, [admin]: password },
  );
  caFile = join(dir, 'operator-ca.crt');
  await writeFile(caFile, infra.operatorCA);
  await eventually(async () => {
    expect(await kubectlOk('hub', ['get', 'destination', destination, '-o', 'jsonpath={.spec.url}'])).toBe(infra.connector.proxyURL);
  }, 30_000);
  home = await newHome();
  adminHome = await newHome();
  const adminLogin = await cli(['login', infra.operator.publicURL, '--user', admin, '--password-stdin', '--ca-file', caFile], password, adminHome);
  expect(adminLogin.stderr).toBe('');
}, 120_000);

/** The SHA-256 fingerprint of the leaf certificate a server presents. */
async function leafFingerprint(server: string): Promise<string> {
  const { hostname, port } = new URL(server);
  const socket = connect({ host: hostname, port: Number(port), rejectUnauthorized: false });
  await once(socket, 'secureConnect');
  const fingerprint = socket.getPeerCertificate().fingerprint256;
  socket.destroy();
  return fingerprint;
}

afterAll(async () => {
  await infra?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The Grant objects in the hub for a user, as kubectl sees them. */
async function hubGrantsFor(user: string): Promise<{ metadata: { name: string; annotations?: Record<string, string> }; spec: Record<string, string> }[]> {
  const list = JSON.parse(await kubectlOk('hub', ['get', 'grants', '-o', 'json'])) as { items: { metadata: { name: string }; spec: Record<string, string> }[] };
  return list.items.filter((g) => g.spec['user'] === user);
}

describe('infra CLI against a real installation', () => {
  let sessionKey: string;

  it('reports the version it was built from', async () => {
    const { version } = JSON.parse(await readFile(join(import.meta.dirname, '..', 'package.json'), 'utf8')) as { version: string };
    expect(await cli(['version'])).toMatchObject({ code: 0, stdout: `infra ${version}\n` });
  });

  it("an admin's `infra grants add` creates the Grant a YAML file would, and `infra grants list` shows it", async () => {
    const added = await cli(['grants', 'add', email, `${destination}.${namespace}`, '--role', 'view'], '', adminHome);
    expect(added.stderr).toBe('');
    expect(added.code).toBe(0);
    const [grant, ...others] = await hubGrantsFor(email);
    expect(others).toEqual([]);
    expect(grant!.spec).toEqual({ user: email, role: 'view', resource: `${destination}.${namespace}` });
    expect(grant!.metadata.annotations?.['infrahq.com/created-by']).toBe(admin);
    expect(added.stdout).toBe(`${email} has role view on ${destination}.${namespace} (Grant ${grant!.metadata.name})\n`);
    // Adding it again changes nothing.
    expect((await cli(['grants', 'add', email, `${destination}.${namespace}`, '--role', 'view'], '', adminHome)).code).toBe(0);
    expect(await hubGrantsFor(email)).toHaveLength(1);

    const list = await cli(['grants', 'list', '-d', destination], '', adminHome);
    expect(list.stdout).toMatch(new RegExp(`^  USER \\(1\\) +ROLE +DESTINATION\\n  ${email.replace('.', '\\.')} +view +${destination}\\.${namespace}\\n$`));
    await eventually(() => kubectlOk('spoke', ['get', 'rolebinding', '-n', namespace, 'infra:view']), 10_000);
  });

  it('sets expiresAt with --for, and refuses bad input with a line that says what to do', async () => {
    const before = Date.now();
    const timed = await cli(['grants', 'add', '-g', 'oncall', destination, '--role', 'edit', '--for', '1h'], '', adminHome);
    expect(timed.code).toBe(0);
    const list = JSON.parse((await cli(['grants', 'list', '--group', 'oncall', '-o', 'json'], '', adminHome)).stdout) as {
      spec: { expiresAt: string; resource: string };
    }[];
    const mine = list.filter((g) => g.spec.resource === destination);
    expect(mine).toHaveLength(1);
    expect(Date.parse(mine[0]!.spec.expiresAt) - before).toBeGreaterThan(3_590_000);
    expect(Date.parse(mine[0]!.spec.expiresAt) - before).toBeLessThan(3_610_000);
    expect(await cli(['grants', 'remove', '-g', 'oncall', destination], '', adminHome)).toMatchObject({ code: 0 });

    const invalid = await cli(['grants', 'add', email, 'Not_A_Destination', '--role', 'view'], '', adminHome);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toMatch(/^infra: .*resource.*\n$/);
    const duration = await cli(['grants', 'add', email, destination, '--role', 'view', '--for', 'soon'], '', adminHome);
    expect(duration).toEqual({ code: 1, stdout: '', stderr: 'infra: --for soon is not a duration; use e.g. 30m, 1h, 8h or 7d\n' });
  });

  it('`infra grants add --wait` returns once the real connector has bound the Grant, and names the reason when it cannot', async () => {
    const bound = await cli(['grants', 'add', '-g', 'waiters', destination, '--role', 'view', '--wait', '30s'], '', adminHome);
    expect(bound.stderr).toBe('');
    expect(bound.code).toBe(0);
    expect(bound.stdout).toContain(`Bound in ${destination}: bound by ClusterRoleBinding infra:view in ${destination}`);
    expect(await kubectlOk('spoke', ['get', 'clusterrolebinding', 'infra:view', '-o', 'jsonpath={.subjects[*].name}'])).toContain('waiters');

    const missingRole = await cli(['grants', 'add', '-g', 'waiters', destination, '--role', 'no-such-role', '--wait', '5s'], '', adminHome);
    expect(missingRole.code).toBe(1);
    expect(missingRole.stderr).toMatch(/is not bound after 5s: RoleNotFound: ClusterRole no-such-role does not exist in destination/);
    for (const role of ['view', 'no-such-role'])
      expect(await cli(['grants', 'remove', '-g', 'waiters', destination, '--role', role], '', adminHome)).toMatchObject({ code: 0 });
  });

  it("an admin's `infra users add --password` prints a one-time password that the new user replaces at their first login", async () => {
    const newcomer = `${uniqueName('eve')}@example.com`;
    const added = await cli(['users', 'add', newcomer, '--password'], '', adminHome);
    expect(added.code, added.stderr).toBe(0);
    const oneTimePassword = added.stdout.trim();
    expect(oneTimePassword).toMatch(/^[a-z2-9]{5}(-[a-z2-9]{5}){3}$/);
    const newcomerHome = await newHome();
    const login = (input: string) => cli(['login', infra.operator.publicURL, '--user', newcomer, '--password-stdin', '--ca-file', caFile], input, newcomerHome);
    const unchanged = await login(`${oneTimePassword}\n`);
    expect(unchanged.code).toBe(1);
    expect(unchanged.stderr).toContain('your password is a one-time password');
    const changed = await login(`${oneTimePassword}\nthe newcomer's own password\n`);
    expect(changed.stderr).toBe(`Password changed for ${newcomer}.\n`);
    expect(changed.code).toBe(0);
    expect((await login(`${oneTimePassword}\n`)).stderr).toContain('wrong email or password');
    expect((await login("the newcomer's own password\n")).code).toBe(0);
    expect((await cli(['users', 'remove', newcomer], '', adminHome)).code).toBe(0);
  });

  it('logs in with --user and --password-stdin, keeping the session in a 0600 file and writing kubeconfig contexts', async () => {
    const result = await cli(['login', infra.operator.publicURL, '--user', email, '--password-stdin', '--ca-file', caFile], `${password}\n`);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Logged in to ${infra.operator.publicURL} as ${email}`);
    expect((await stat(join(home.INFRA_HOME, 'config.json'))).mode & 0o777).toBe(0o600);
    const config = JSON.parse(await readFile(join(home.INFRA_HOME, 'config.json'), 'utf8')) as { servers: Record<string, { session: { key: string } }> };
    sessionKey = config.servers[infra.operator.publicURL]!.session.key;
    expect(sessionKey).toMatch(/^iss_/);
    const kubeconfig = parse(await readFile(home.KUBECONFIG, 'utf8')) as {
      contexts: { name: string }[];
      clusters: { name: string; cluster: { server: string } }[];
    };
    expect(kubeconfig.contexts.map((c) => c.name)).toEqual([`infra:${destination}`, `infra:${destination}.${namespace}`]);
    expect(kubeconfig.clusters[0]!.cluster.server).toBe(infra.connector.proxyURL);
    expect((await stat(home.KUBECONFIG)).mode & 0o777).toBe(0o600);
  });

  it('lists the destination and the role', async () => {
    const result = await cli(['list']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^  NAME \\(1\\) +ACCESS\\n  ${destination}\\.${namespace} +view\\n$`));
    const json = JSON.parse((await cli(['list', '-o', 'json'])).stdout) as {
      user: { email: string };
      destinations: { name: string; namespaces: { name: string; roles: string[] }[] }[];
    };
    expect(json.user.email).toBe(email);
    expect(json.destinations).toMatchObject([{ name: destination, namespaces: [{ name: namespace, roles: ['view'] }] }]);
  });

  it('switches to the namespace, and real kubectl reaches it through the connector with the exec plugin', async () => {
    const used = await cli(['use', `${destination}.${namespace}`]);
    expect(used.stdout).toContain(`Switched to context "infra:${destination}.${namespace}"`);
    const pods = await kubectlAs(['get', 'pods', '-n', namespace]);
    expect(pods.stderr).toContain(`No resources found in ${namespace} namespace.`);
    expect(pods.code).toBe(0);
    const forbidden = await kubectlAs(['get', 'pods', '-n', 'default']);
    expect(forbidden.code).not.toBe(0);
    expect(forbidden.stderr).toMatch(new RegExp(`pods is forbidden: User "${email.replace('.', '\\.')}" cannot list resource "pods"`));
    // The token is cached for the next kubectl call.
    expect((await stat(join(home.INFRA_HOME, 'tokens', `${destination}.json`))).mode & 0o777).toBe(0o600);
    const unknown = await cli(['use', 'nowhere']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe(`infra: unknown destination "nowhere": use one of ${destination}, ${destination}.${namespace}\n`);
  });

  it('refuses management to a user without a Grant on resource infra', async () => {
    const refused = await cli(['grants', 'list']);
    expect(refused).toEqual({
      code: 1,
      stdout: '',
      stderr: `infra: ${email} may not list grants: that needs a Grant with role view or admin on resource infra\n`,
    });
  });

  it("loses access within 2 s of an admin's `infra grants remove`", async () => {
    const removed = await cli(['grants', 'remove', email, `${destination}.${namespace}`, '--role', 'view'], '', adminHome);
    const deleted = Date.now();
    expect(removed.stderr).toBe('');
    expect(removed.stdout).toMatch(/no longer has role view/);
    expect(await hubGrantsFor(email)).toEqual([]);
    await eventually(
      async () => {
        const pods = await kubectlAs(['get', 'pods', '-n', namespace]);
        expect(pods.code).not.toBe(0);
        expect(pods.stderr).toContain('forbidden');
      },
      5_000,
      100,
    );
    expect(Date.now() - deleted).toBeLessThan(2_000);
  });

  it('reports an unreachable server, a wrong password, an untrusted certificate and a malformed kubeconfig clearly', async () => {
    const [port] = await freePorts(1);
    const other = await newHome();
    const unreachable = await cli(['login', `https://127.0.0.1:${port}`, '--user', email, '--password-stdin'], password, other);
    expect(unreachable).toEqual({
      code: 1,
      stdout: '',
      stderr: `infra: cannot reach https://127.0.0.1:${port}: is the server address right? (ECONNREFUSED)\n`,
    });

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

  it("pins the operator's CA key, so the pin holds for a leaf issued later by another replica", async () => {
    const pinning = await newHome();
    const untrusted = await cli(['login', infra.operator.publicURL, '--user', email, '--password-stdin'], password, pinning);
    const fingerprint = /--trust-fingerprint ([0-9A-F:]{95})/.exec(untrusted.stderr)?.[1];
    expect(fingerprint).toBe(keyPin(new X509Certificate(infra.operatorCA)));
    expect(
      (await cli(['login', infra.operator.publicURL, '--user', email, '--password-stdin', '--trust-fingerprint', fingerprint!], password, pinning)).code,
    ).toBe(0);

    const replica = await startOperator({ kubeconfig: cluster('hub').adminKubeconfig, namespace: operatorNamespace, identity: uniqueName('replica') });
    try {
      expect(await leafFingerprint(replica.publicURL)).not.toBe(await leafFingerprint(infra.operator.publicURL));
      const second = await cli(['login', replica.publicURL, '--user', email, '--password-stdin', '--trust-fingerprint', fingerprint!], password, pinning);
      expect(second.stderr).toBe('');
      expect(second.code).toBe(0);
    } finally {
      await replica.stop();
    }
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

  it('says a session has expired when the server holds it expired, or was revoked with its access key or its user', async () => {
    const expiring = await newHome();
    expect((await cli(['login', infra.operator.publicURL, '--user', email, '--password-stdin', '--ca-file', caFile], password, expiring)).code).toBe(0);
    const config = JSON.parse(await readFile(join(expiring.INFRA_HOME, 'config.json'), 'utf8')) as { servers: Record<string, { session: { key: string } }> };
    const id = /^iss_([a-z2-7]+)\./.exec(config.servers[infra.operator.publicURL]!.session.key)![1];
    await kubectlOk('hub', [
      'annotate',
      'secret',
      '-n',
      operatorNamespace,
      `infra-session-${id}`,
      'infrahq.com/expires-at=2020-01-01T00:00:00Z',
      '--overwrite',
    ]);
    await eventually(async () => {
      expect(await cli(['list'], '', expiring)).toEqual({ code: 1, stdout: '', stderr: 'infra: your session has expired or was revoked: run `infra login`\n' });
    }, 5_000);

    const revokedMessage = { code: 1, stdout: '', stderr: 'infra: your session has expired or was revoked: run `infra login`\n' };
    const loginWithNewKey = async (name: string) => {
      const key = (await cli(['keys', 'add', name, '--user', email], '', adminHome)).stdout.trim();
      expect(key).toMatch(/^iak_/);
      const robot = await newHome();
      expect((await cli(['login', infra.operator.publicURL, '--key-stdin', '--ca-file', caFile], key, robot)).code).toBe(0);
      return { key, robot };
    };
    const first = await loginWithNewKey('ci');
    expect((await cli(['keys', 'list', '--user', email], '', adminHome)).stdout).toMatch(
      // A key never outlives the session that made it (issue 27): the admin's, 12h at most.
      new RegExp(`^  NAME \\(1\\) +USER +EXPIRES +LAST USED\\n  ci +${email.replace('.', '\\.')} +in 1[12]h`),
    );
    expect(await cli(['keys', 'remove', 'ci', '--user', email], '', adminHome)).toEqual({ code: 0, stdout: 'Access key "ci" revoked\n', stderr: '' });
    await eventually(async () => expect(await cli(['list'], '', first.robot)).toEqual(revokedMessage), 10_000);

    const { key, robot } = await loginWithNewKey('ci-2');
    expect((await cli(['users', 'list'], '', adminHome)).stdout).toContain(email);
    const removed = await cli(['users', 'remove', email], '', adminHome);
    expect(removed.stdout).toBe(`User ${email} removed; their sessions and access keys are revoked.\n`);
    await eventually(async () => expect(await cli(['list'], '', robot)).toEqual(revokedMessage), 10_000);
    const again = await cli(['login', infra.operator.publicURL, '--key-stdin', '--ca-file', caFile], key, await newHome());
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^infra: login failed: .*access key/);
  });
});
