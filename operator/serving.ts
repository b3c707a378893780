// The operator's TLS: a CA kept in a hub Secret (shared by every replica, published as
// the APIService caBundle) and a serving certificate each replica issues itself from it,
// renewed long before it expires.
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { createCertificateAuthority, loadCertificateAuthority, type CertificateAuthority, type PemPair } from '../lib/pki.ts';
import { statusCode } from '../lib/kube.ts';

export const servingCASecret = 'infra-operator-ca';

/** Loads the operator CA from its Secret, creating it on first start (replicas may race). */
export async function ensureServingCA(kubeConfig: KubeConfig, namespace: string): Promise<CertificateAuthority> {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const read = async () => {
    const secret = await core.readNamespacedSecret({ name: servingCASecret, namespace });
    const decode = (key: string) => Buffer.from(secret.data?.[key] ?? '', 'base64').toString();
    return loadCertificateAuthority({ cert: decode('tls.crt'), key: decode('tls.key') });
  };
  try {
    return await read();
  } catch (err) {
    if (statusCode(err) !== 404) throw err;
  }
  const ca = await createCertificateAuthority('infra-operator-ca');
  try {
    await core.createNamespacedSecret({
      namespace,
      body: {
        metadata: { name: servingCASecret, namespace, labels: { 'app.kubernetes.io/managed-by': 'infra-operator' } },
        type: 'kubernetes.io/tls',
        data: { 'tls.crt': Buffer.from(ca.cert).toString('base64'), 'tls.key': Buffer.from(ca.key).toString('base64') },
      },
    });
    return ca;
  } catch (err) {
    if (statusCode(err) === 409) return read(); // another replica won the race
    throw err;
  }
}

/** DNS names and IPs the serving certificate must carry for both doors. */
export function servingNames(serviceName: string, namespace: string, publicURL: string): { dnsNames: string[]; ipAddresses: string[] } {
  const publicHost = new URL(publicURL).hostname.replace(/^\[|\]$/g, '');
  const isIP = /^[\d.]+$|:/.test(publicHost);
  const dnsNames = [`${serviceName}.${namespace}.svc`, `${serviceName}.${namespace}.svc.cluster.local`, 'localhost'];
  if (!isIP && !dnsNames.includes(publicHost)) dnsNames.push(publicHost);
  const ipAddresses = ['127.0.0.1', ...(isIP && publicHost !== '127.0.0.1' ? [publicHost] : [])];
  return { dnsNames, ipAddresses };
}

export async function issueServingCert(ca: CertificateAuthority, names: { dnsNames: string[]; ipAddresses: string[] }): Promise<PemPair> {
  return ca.issue({ commonName: names.dnsNames[0]!, usage: 'server', validFor: { days: 30 }, ...names });
}
