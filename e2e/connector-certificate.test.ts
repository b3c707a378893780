// The connector proxy's serving certificate is renewed while it serves, without a restart:
// with a 6-second lifetime, the proxy presents a new certificate within a few seconds, and
// real kubectl still reaches the spoke through it after the first certificate has expired.
// Real hub, spoke, operator and connector.
import { X509Certificate } from 'node:crypto';
import { connect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { grantObject, kubectl, kubectlOk, startTestInfra, uniqueName } from '../test/cluster.ts';
import type { Infra } from '../hack/local-infra/infra.ts';
import { eventually } from '../hack/local-infra/programs.ts';

const namespace = uniqueName('infra');
const destination = uniqueName('certs');
const alice = `${uniqueName('alice')}@example.com`;
const password = 'a long enough password';
const grantName = uniqueName('alice-view');
let infra: Infra;

/** The certificate the proxy presents to a new connection, verified against the CA the connector publishes. */
async function presented(): Promise<X509Certificate> {
  const { port } = new URL(infra.connector.proxyURL);
  const caBundle = Buffer.from(await kubectlOk('hub', ['get', 'destination', destination, '-o', 'jsonpath={.spec.caBundle}']), 'base64').toString();
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: Number(port), ca: caBundle, servername: 'localhost', checkServerIdentity: () => undefined }, () => {
      const cert = socket.getPeerX509Certificate();
      socket.end();
      if (cert) resolve(cert);
      else reject(new Error('the proxy presented no certificate'));
    });
    socket.on('error', reject);
  });
}

beforeAll(async () => {
  infra = await startTestInfra({ namespace, destination, proxyCertificateLifetime: '6s' }, { [alice]: password }, [
    grantObject(grantName, { user: alice, role: 'view', resource: destination }),
  ]);
}, 120_000);

afterAll(async () => {
  await kubectl('hub', ['delete', 'grant', grantName, '--ignore-not-found']);
  await infra?.stop();
});

describe("the connector proxy's serving certificate", () => {
  it('is renewed before it expires, in place, and kubectl works through the proxy after the first one expired', async () => {
    const first = await presented();
    const renewed = await eventually(
      async () => {
        const now = await presented();
        expect(now.serialNumber).not.toBe(first.serialNumber);
        return now;
      },
      6_000,
      250,
    );
    expect(renewed.validToDate.getTime()).toBeGreaterThan(first.validToDate.getTime());

    const token = await eventually(() => infra.token(alice, password));
    const kubeconfig = await infra.proxyKubeconfig(token);
    const untilExpired = first.validToDate.getTime() + 1_000 - Date.now();
    if (untilExpired > 0) await new Promise((resolve) => setTimeout(resolve, untilExpired));
    const current = await presented();
    expect(current.validToDate.getTime()).toBeGreaterThan(Date.now());
    const result = await kubectl('spoke', ['get', 'namespaces', 'default', '-o', 'name'], { kubeconfig });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.trim()).toBe('namespace/default');
  });
});
