// What ControlPlane.start does when another process takes an API server's port between
// freePorts and the API server's bind: recognise it from the log, move the cluster.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { createCertificateAuthority } from '../../lib/pki.ts';
import { testDirectory } from '../../test/temporary.ts';
import { lostItsPort, moveToFreePort, type ClusterSetup } from './controlplane.ts';

async function setupIn(dir: string, port: number): Promise<Pick<ClusterSetup, 'state' | 'port' | 'files'>> {
  const ca = await createCertificateAuthority('ports-test');
  const files = { servingCA: join(dir, 'serving-ca.crt'), log: join(dir, 'kube-apiserver.log') } as ClusterSetup['files'];
  await writeFile(files.servingCA, ca.cert);
  const adminCert = await ca.issue({ commonName: 'admin', usage: 'client' });
  return {
    port,
    state: { name: 'hub', server: `https://127.0.0.1:${port}`, adminKubeconfig: join(dir, 'admin.kubeconfig'), files },
    files: { ...files, adminCert },
  };
}

describe('an API server whose port was taken', () => {
  it('is recognised from its log, for its own port only', async () => {
    const dir = testDirectory('ports-test-');
    const setup = await setupIn(dir, 33999);
    expect(await lostItsPort(setup)).toBe(false); // no log yet
    await writeFile(
      setup.state.files.log,
      'E1201 run.go:72] "command failed" err="failed to create listener: failed to listen on 127.0.0.1:34000: listen tcp 127.0.0.1:34000: bind: address already in use"\n',
    );
    expect(await lostItsPort(setup)).toBe(false); // an earlier attempt's port
    await writeFile(
      setup.state.files.log,
      'E1201 run.go:72] "command failed" err="failed to create listener: failed to listen on 127.0.0.1:33999: listen tcp 127.0.0.1:33999: bind: address already in use"\n',
      { flag: 'a' },
    );
    expect(await lostItsPort(setup)).toBe(true);
  });

  it('moves to another port, and its URL and admin kubeconfig follow', async () => {
    const dir = testDirectory('ports-test-');
    const setup = await setupIn(dir, 1);
    await moveToFreePort(setup);
    expect(setup.port).toBeGreaterThan(1);
    expect(setup.state.server).toBe(`https://127.0.0.1:${setup.port}`);
    const kubeconfig = parse(await readFile(setup.state.adminKubeconfig, 'utf8')) as {
      clusters: { cluster: { server: string } }[];
      users: { user: Record<string, string> }[];
    };
    expect(kubeconfig.clusters[0]!.cluster.server).toBe(setup.state.server);
    expect(Buffer.from(kubeconfig.users[0]!.user['client-certificate-data']!, 'base64').toString()).toBe(setup.files.adminCert.cert);
  });
});
