// The operator's TLS: a CA kept in a hub Secret (shared by every replica, published as
// the APIService caBundle) and a serving certificate each replica issues itself from it,
// served with the CA's certificate and renewed long before it expires (lib/serving-renewer.ts).
import type { KubeConfig } from '@kubernetes/client-node';
import { certificateNames, ensureCASecret } from '../lib/ca-secret.ts';
import type { CertificateAuthority, PemPair } from '../lib/pki.ts';

export const servingCASecret = 'infra-operator-ca';

export function ensureServingCA(kubeConfig: KubeConfig, namespace: string): Promise<CertificateAuthority> {
  return ensureCASecret(kubeConfig, namespace, servingCASecret, 'infra-operator');
}

/** DNS names and IPs the serving certificate must carry for both doors. */
export function servingNames(serviceName: string, namespace: string, publicURL: string): { dnsNames: string[]; ipAddresses: string[] } {
  // The aggregator dials <service>.<namespace>.svc and checks the certificate for it.
  return certificateNames([`${serviceName}.${namespace}.svc`, `${serviceName}.${namespace}.svc.cluster.local`], [], publicURL);
}

/**
 * A serving certificate from the shared CA, with the CA's certificate after it: clients
 * that pin the CA's key (infra login --trust-fingerprint) find it in the chain, so their
 * pin holds across renewals and replicas.
 */
export async function issueServingCert(ca: CertificateAuthority, names: { dnsNames: string[]; ipAddresses: string[] }): Promise<PemPair> {
  const leaf = await ca.issue({ commonName: names.dnsNames[0]!, usage: 'server', validFor: { days: 30 }, ...names });
  return { ...leaf, cert: `${leaf.cert.trimEnd()}\n${ca.cert.trimEnd()}\n` };
}

/** How often the serving certificate (valid for 30 days) is renewed while all is well. */
export const servingRenewMs = 24 * 3_600_000;
