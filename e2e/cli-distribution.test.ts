// The `infra` CLI as people install it (docs/adr/0011-cli-distribution.md): the single
// executable copied alone into an empty directory, the npm package installed with
// `npm install -g`, and `make install`. Each runs in a person's fresh shell (only PATH,
// HOME, INFRA_HOME and KUBECONFIG; no `node` on PATH unless the package needs it) against
// a real operator and connector, and the real kubectl uses it as its credential plugin.
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installHint } from '../cli/kubeconfig.ts';
import { findOnPath } from '../cli/self.ts';
import { executablePath, hostPlatform } from '../hack/executable.ts';
import { runCommand, type CommandResult } from '../hack/local-infra/command.ts';
import type { Infra } from '../hack/local-infra/infra.ts';
import { eventually } from '../hack/local-infra/programs.ts';
import { packCli } from '../hack/npm-package.ts';
import { grantObject, kubectlOk, startTestInfra, uniqueName } from '../test/cluster.ts';

const repoRoot = join(import.meta.dirname, '..');
const host = hostPlatform();
const destination = uniqueName('dist');
const namespace = uniqueName('dist-ns');
const email = `${uniqueName('ann')}@example.com`;
const password = 'a long enough password';
let infra: Infra;
let dir: string;
let caFile: string;
/** A directory holding only kubectl: on every PATH below, so kubectl is there and nothing else is. */
let kubectlDir: string;

interface Shell {
  PATH: string;
  HOME: string;
  INFRA_HOME: string;
  KUBECONFIG: string;
}

/** A person's fresh shell whose PATH is the given directories and kubectl's. */
async function newShell(...path: string[]): Promise<Shell> {
  const home = await mkdtemp(join(dir, 'home-'));
  return { PATH: [...path, kubectlDir].join(':'), HOME: home, INFRA_HOME: join(home, '.infra'), KUBECONFIG: join(home, '.kube', 'config') };
}

function inShell(shell: Shell, command: string, args: string[], input = ''): Promise<CommandResult> {
  return runCommand(command, args, { env: { ...shell }, inheritEnv: false, input, timeoutMs: 60_000 });
}

async function login(shell: Shell, infraCommand = 'infra'): Promise<void> {
  const result = await inShell(shell, infraCommand, ['login', infra.operator.publicURL, '--user', email, '--password-stdin', '--ca-file', caFile], password);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
}

/** The exec entry of the kubeconfig the CLI wrote. */
async function execEntry(shell: Shell): Promise<{ command: string; args: string[]; installHint: string }> {
  const kubeconfig = parse(await readFile(shell.KUBECONFIG, 'utf8')) as {
    users: { user: { exec: { command: string; args: string[]; installHint: string } } }[];
  };
  return kubeconfig.users[0]!.user.exec;
}

/** kubectl through the connector, with this shell's `infra` as the credential plugin. */
async function expectKubectlReachesNamespace(shell: Shell): Promise<void> {
  const pods = await inShell(shell, 'kubectl', ['get', 'pods', '-n', namespace]);
  expect(pods.stderr).toBe(`No resources found in ${namespace} namespace.\n`);
  expect(pods.code).toBe(0);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'infra-cli-dist-'));
  kubectlDir = join(dir, 'kubectl-only');
  await mkdir(kubectlDir);
  const kubectl = findOnPath('kubectl', process.env['PATH']);
  if (!kubectl) throw new Error('kubectl is not on PATH: the e2e suites need the real kubectl');
  await symlink(await realpath(kubectl), join(kubectlDir, 'kubectl'));

  await kubectlOk('spoke', ['create', 'namespace', namespace]);
  infra = await startTestInfra(
    // As make dev runs it: the auth API through the hub's aggregation layer too.
    { namespace: uniqueName('infra'), destination, aggregated: true },
    { [email]: password },
    [grantObject(uniqueName('ann-view'), { user: email, role: 'view', resource: `${destination}.${namespace}` })],
  );
  caFile = join(dir, 'operator-ca.crt');
  await writeFile(caFile, infra.operatorCA);
  await eventually(() => kubectlOk('spoke', ['get', 'rolebinding', '-n', namespace, 'infra:view']), 30_000);
  await eventually(async () => {
    expect(await kubectlOk('hub', ['get', 'destination', destination, '-o', 'jsonpath={.spec.url}'])).toBe(infra.connector.proxyURL);
  }, 30_000);
}, 120_000);

afterAll(async () => {
  await infra?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe.skipIf(host instanceof Error)('the single executable', () => {
  const executable = () => executablePath(host as Exclude<typeof host, Error>);

  it('copied alone into an empty directory on a PATH with no node: login, list, use, tokens, kubectl, logout', async () => {
    const bin = await mkdtemp(join(dir, 'bin-'));
    await copyFile(executable(), join(bin, 'infra'));
    const shell = await newShell(bin);
    expect(findOnPath('node', shell.PATH)).toBeUndefined();

    await login(shell);
    expect(await execEntry(shell)).toMatchObject({ command: 'infra', args: ['tokens', '--destination', destination] });
    const list = await inShell(shell, 'infra', ['list']);
    expect(list).toMatchObject({ code: 0, stderr: '' });
    expect(list.stdout).toMatch(new RegExp(`^  NAME \\(1\\) +ACCESS\\n  ${destination}\\.${namespace} +view\\n$`));
    expect(await inShell(shell, 'infra', ['use', `${destination}.${namespace}`])).toMatchObject({ code: 0, stderr: '' });
    const tokens = await inShell(shell, 'infra', ['tokens', '--destination', destination]);
    expect(tokens.code, tokens.stderr).toBe(0);
    expect(JSON.parse(tokens.stdout)).toMatchObject({ kind: 'ExecCredential', status: { token: expect.stringMatching(/^ey/) as string } });
    await expectKubectlReachesNamespace(shell);
    const logout = await inShell(shell, 'infra', ['logout']);
    expect(logout).toMatchObject({ code: 0, stdout: `Logged out of ${infra.operator.publicURL}.\n` });
    expect((parse(await readFile(shell.KUBECONFIG, 'utf8')) as { contexts: unknown[] }).contexts).toEqual([]);
  });

  it('run by its path with no infra on PATH: the exec entry names that absolute path, and kubectl works', async () => {
    const elsewhere = join(await mkdtemp(join(dir, 'downloads-')), 'infra-linux-amd64');
    await copyFile(executable(), elsewhere);
    const shell = await newShell();
    await login(shell, elsewhere);
    expect((await execEntry(shell)).command).toBe(elsewhere);
    expect(await inShell(shell, elsewhere, ['use', `${destination}.${namespace}`])).toMatchObject({ code: 0 });
    await expectKubectlReachesNamespace(shell);
  });

  it('an exec entry whose infra is missing: kubectl shows the one-line hint to run make install', async () => {
    const bin = await mkdtemp(join(dir, 'bin-'));
    await copyFile(executable(), join(bin, 'infra'));
    const shell = await newShell(bin);
    await login(shell);
    expect(await inShell(shell, 'infra', ['use', `${destination}.${namespace}`])).toMatchObject({ code: 0 });
    await rm(join(bin, 'infra'));
    const pods = await inShell(shell, 'kubectl', ['get', 'pods', '-n', namespace]);
    expect(pods.code).not.toBe(0);
    expect(pods.stderr).toContain('executable infra not found');
    expect(pods.stderr.split('\n')).toContain(installHint);
    expect(installHint).not.toContain('\n');
  });

  it('`make install PREFIX=…` copies it there, and it runs from there', async () => {
    const prefix = join(dir, 'prefix-bin');
    const install = await runCommand('make', ['-s', 'install', `PREFIX=${prefix}`], { cwd: repoRoot, timeoutMs: 120_000 });
    expect(install.stderr).toBe('');
    expect(install.stdout).toContain(`installed ${prefix}/infra\n${prefix} is not on your PATH`);
    const shell = await newShell(prefix);
    const { version } = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
    expect(await inShell(shell, 'infra', ['version'])).toEqual({ code: 0, stdout: `infra ${version}\n`, stderr: '' });
  });
});

describe('make dev', () => {
  it("serves the auth API through the hub's aggregation layer: the TokenRequest it prints works with kubectl --as", async () => {
    const resources = await kubectlOk('hub', ['api-resources', '--api-group=auth.infrahq.com', '-o', 'name']);
    expect(resources.split('\n')).toContain('tokenrequests.auth.infrahq.com');
    const tokenRequest = { apiVersion: 'auth.infrahq.com/v1alpha1', kind: 'TokenRequest', spec: { destination } };
    const created = await kubectlOk('hub', ['create', '-f', '-', '--as', email, '-o', 'json'], { input: JSON.stringify(tokenRequest) });
    expect(JSON.parse(created)).toMatchObject({ kind: 'TokenRequest', status: { token: expect.stringMatching(/^ey/) as string } });
  });
});

describe('the npm package', () => {
  it('holds only the CLI bundle; `npm install -g` gives `infra`, which kubectl runs as `command: infra`', async () => {
    const tarball = await packCli(join(dir, 'npm'));
    const { stdout: listing } = await promisify(execFile)('tar', ['-tzf', tarball]);
    const files = listing.trim().split('\n').sort();
    // A CommonJS entry and ES module chunks (docs/adr/0025-infra-tokens-startup.md).
    expect(files.filter((file) => !/^package\/chunks\/[\w-]+\.mjs$/.test(file))).toEqual([
      'package/LICENSE',
      'package/full.mjs',
      'package/main.js',
      'package/package.json',
    ]);

    const prefix = join(dir, 'npm-prefix');
    const npmInstall = await runCommand('npm', ['install', '-g', '--prefix', prefix, '--offline', '--no-audit', '--no-fund', tarball], { timeoutMs: 120_000 });
    expect(npmInstall.code, npmInstall.stderr).toBe(0);
    // The package's `infra` is a script for the node on PATH (>= 24): the pinned one here.
    const shell = await newShell(join(prefix, 'bin'), dirname(process.execPath));
    await login(shell);
    expect(await execEntry(shell)).toMatchObject({ command: 'infra', installHint });
    expect(await inShell(shell, 'infra', ['use', `${destination}.${namespace}`])).toMatchObject({ code: 0 });
    await expectKubectlReachesNamespace(shell);
  });
});
