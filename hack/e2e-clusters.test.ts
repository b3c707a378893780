// E2E_CLUSTER picks the clusters; kind without a Docker engine must stop the run
// at once with what is missing. The last test runs the real cluster suite that way.
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { kindInfraNamespace, requireDocker, selectedCluster } from './e2e-clusters.ts';
import { runCommand } from './local-infra/command.ts';
import { testDirectory } from '../test/temporary.ts';

const repoRoot = join(import.meta.dirname, '..');

/** A PATH whose `docker` prints what a client without an engine prints, and exits 1. */
async function pathWithDeadDocker(): Promise<string> {
  const bin = testDirectory('infra-no-docker-');
  await writeFile(
    join(bin, 'docker'),
    '#!/bin/sh\necho "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?" >&2\nexit 1\n',
    { mode: 0o755 },
  );
  return `${bin}:${process.env.PATH}`;
}

describe('E2E_CLUSTER', () => {
  it('is local when unset, and refuses a value it does not know', () => {
    expect(selectedCluster({})).toBe('local');
    expect(selectedCluster({ E2E_CLUSTER: 'kind' })).toBe('kind');
    // k3s was removed on purpose (docs/install.md says why): it is refused like any other.
    expect(() => selectedCluster({ E2E_CLUSTER: 'k3s' })).toThrow('E2E_CLUSTER=k3s is not one of local, kind; leave it unset for the local control plane');
  });

  it('says Docker is missing when there is no docker command, or no engine behind it', async () => {
    await expect(requireDocker('kind', { PATH: '/nonexistent' })).rejects.toThrow(
      'E2E_CLUSTER=kind needs a running Docker engine, but the docker command is not on PATH',
    );
    await expect(requireDocker('kind', { PATH: await pathWithDeadDocker() })).rejects.toThrow(
      'E2E_CLUSTER=kind needs a running Docker engine, but `docker info` failed: Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?. Start the engine',
    );
  });

  it('=kind without Docker stops the real cluster suite within seconds, saying what is missing', async () => {
    const started = Date.now();
    const env = { E2E_CLUSTER: 'kind', PATH: await pathWithDeadDocker(), VITEST: undefined, VITEST_POOL_ID: undefined, VITEST_WORKER_ID: undefined };
    const result = await runCommand(
      process.execPath,
      [join(repoRoot, 'node_modules', 'vitest', 'vitest.mjs'), 'run', '--project', 'cluster', 'e2e/cli.test.ts'],
      { cwd: repoRoot, env, timeoutMs: 60_000 },
    );
    expect(result.code).not.toBe(0);
    expect(result.stdout + result.stderr).toContain('E2E_CLUSTER=kind needs a running Docker engine');
    expect(Date.now() - started).toBeLessThan(30_000);
  }, 60_000);

  // kind itself is no longer required: kind-up builds the one hack/tools/kind pins.
  it('hack/kind-up.sh without docker says what to install, before touching anything', async () => {
    const bin = await mkdtemp(join(tmpdir(), 'infra-no-docker-'));
    await symlink('/usr/bin/dirname', join(bin, 'dirname'));
    const result = await runCommand('/bin/bash', [join(repoRoot, 'hack', 'kind-up.sh')], { env: { PATH: bin }, timeoutMs: 30_000 });
    await rm(bin, { recursive: true });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^kind-up: docker is not on PATH; install it: https:\/\//);
  });

  it('pauses the Infra that hack/kind-up.sh deployed, in the namespace it deployed to', async () => {
    const script = await readFile(join(repoRoot, 'hack', 'kind-up.sh'), 'utf8');
    expect(script).toContain(`\nnamespace=${kindInfraNamespace}\n`);
    expect(script).toMatch(/"hostAddress": "%s"/);
  });
});
