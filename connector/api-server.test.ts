import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { testDirectory } from '../test/temporary.ts';
import { reportedApiServer } from './api-server.ts';

const clusterCA = '-----BEGIN CERTIFICATE-----\ncluster\n-----END CERTIFICATE-----\n';
const spoke = (server = 'https://10.96.0.1:443/') => {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'spoke', server, caData: Buffer.from(clusterCA).toString('base64') }],
    users: [{ name: 'connector', token: 'x' }],
    contexts: [{ name: 'spoke', cluster: 'spoke', user: 'connector' }],
    currentContext: 'spoke',
  });
  return kc;
};

describe('reportedApiServer', () => {
  it('is the API server the connector talks to, with its CA, when nothing is configured', async () => {
    await expect(reportedApiServer({}, spoke('https://127.0.0.1:6443/'))).resolves.toEqual({ url: 'https://127.0.0.1:6443', ca: clusterCA });
  });

  it("is the configured external URL, still with the cluster's CA unless another is configured", async () => {
    const url = 'https://prod.k8s.example.com:6443';
    await expect(reportedApiServer({ url }, spoke())).resolves.toEqual({ url, ca: clusterCA });
    const caFile = join(testDirectory('infra-api-server-'), 'ca.crt');
    writeFileSync(caFile, 'LB CA');
    await expect(reportedApiServer({ url, caFile }, spoke())).resolves.toEqual({ url, ca: 'LB CA' });
  });

  it('reports nothing for an API server that is not served over https, rather than a status the hub would refuse', async () => {
    await expect(reportedApiServer({}, spoke('http://localhost:8080'))).resolves.toBeUndefined();
  });

  it('says which file it could not read', async () => {
    await expect(reportedApiServer({ caFile: '/nonexistent/ca.crt' }, spoke())).rejects.toThrow("cannot read the API server's CA from /nonexistent/ca.crt");
  });
});
