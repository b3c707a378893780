import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientKubeconfig } from '../hack/controlplane/controlplane.ts';
import { loadKubeConfig } from './kube.ts';
import { createCertificateAuthority } from './pki.ts';

describe('loadKubeConfig', () => {
  let server: ReturnType<typeof createServer>;
  let connections = 0;
  let kubeconfigPath: string;

  beforeAll(async () => {
    const ca = await createCertificateAuthority('test-ca');
    const serving = await ca.issue({ commonName: 'localhost', usage: 'server', ipAddresses: ['127.0.0.1'] });
    const client = await ca.issue({ commonName: 'me', usage: 'client' });
    server = createServer({ cert: serving.cert, key: serving.key, ca: ca.cert, requestCert: true }, (_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } }));
    });
    server.on('secureConnection', () => connections++);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    kubeconfigPath = join(mkdtempSync(join(tmpdir(), 'kube-test-')), 'kubeconfig');
    writeFileSync(kubeconfigPath, clientKubeconfig({ cluster: 'c', server: `https://127.0.0.1:${port}`, ca: ca.cert, user: 'me', client }));
  });

  afterAll(async () => {
    rmSync(dirname(kubeconfigPath), { recursive: true, force: true });
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('reuses connections across requests and API clients instead of a TLS handshake per call', async () => {
    const kubeConfig = loadKubeConfig(kubeconfigPath);
    const first = kubeConfig.makeApiClient(CoreV1Api);
    const second = kubeConfig.makeApiClient(CoreV1Api);
    for (let i = 0; i < 20; i++) await (i % 2 ? first : second).readNamespace({ name: 'default' });
    // undici may open a second socket while the first is being returned to the pool.
    expect(connections).toBeLessThanOrEqual(2);
  });
});
