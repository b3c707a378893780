// A certificate authority kept in a kubernetes.io/tls Secret, so every replica of a
// program issues serving certificates from the same CA, which is what clients trust.
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { statusCode } from './kube.ts';
import { createCertificateAuthority, loadCertificateAuthority, type CertificateAuthority } from './pki.ts';

/** Loads the CA from its Secret, creating it on first start (replicas may race: the loser reads). */
export async function ensureCASecret(kubeConfig: KubeConfig, namespace: string, name: string, managedBy: string): Promise<CertificateAuthority> {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const read = async () => {
    const secret = await core.readNamespacedSecret({ name, namespace });
    const decode = (key: string) => Buffer.from(secret.data?.[key] ?? '', 'base64').toString();
    return loadCertificateAuthority({ cert: decode('tls.crt'), key: decode('tls.key') });
  };
  try {
    return await read();
  } catch (err) {
    if (statusCode(err) !== 404) throw err;
  }
  const ca = await createCertificateAuthority(name);
  try {
    await core.createNamespacedSecret({
      namespace,
      body: {
        metadata: { name, namespace, labels: { 'app.kubernetes.io/managed-by': managedBy } },
        type: 'kubernetes.io/tls',
        data: { 'tls.crt': Buffer.from(ca.cert).toString('base64'), 'tls.key': Buffer.from(ca.key).toString('base64') },
      },
    });
    return ca;
  } catch (err) {
    if (statusCode(err) === 409) return read();
    throw err;
  }
}

/** DNS names and IPs a serving certificate needs, from explicit names plus the host of a URL. */
export function certificateNames(dnsNames: string[], ipAddresses: string[], url?: string): { dnsNames: string[]; ipAddresses: string[] } {
  const dns = new Set([...dnsNames, 'localhost']);
  const ips = new Set([...ipAddresses, '127.0.0.1']);
  if (url) {
    const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
    if (/^[\d.]+$|:/.test(host)) ips.add(host);
    else dns.add(host);
  }
  return { dnsNames: [...dns], ipAddresses: [...ips] };
}
