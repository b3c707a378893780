// @peculiar/x509 resolves its services through tsyringe, which needs the Reflect metadata API.
import 'reflect-metadata';
import { createPrivateKey, generateKeyPairSync, webcrypto, X509Certificate } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { describe, expect, it } from 'vitest';
import { createCertificateAuthority, loadCertificateAuthority } from './pki.ts';

/** A self-signed CA the way another tool makes one, its key in the PEM form that tool writes. */
async function foreignCA(algorithm: webcrypto.RsaHashedKeyGenParams | webcrypto.EcKeyGenParams, keyType: 'pkcs1' | 'sec1' | 'pkcs8') {
  const signing = 'modulusLength' in algorithm ? algorithm : { ...algorithm, hash: algorithm.namedCurve === 'P-384' ? 'SHA-384' : 'SHA-256' };
  const keys = await webcrypto.subtle.generateKey(signing, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=kubernetes',
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 3_600_000),
    signingAlgorithm: signing,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true),
      // Computed its own way, as kubeadm does: verifiers match the issued certificates' AKI to it.
      new x509.SubjectKeyIdentifierExtension('306db72066118cf86d0106d43aa556246103650e'),
    ],
  });
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const key = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }).export({ type: keyType, format: 'pem' }).toString();
  return { cert: cert.toString('pem'), key };
}

describe('loadCertificateAuthority', () => {
  it.each([
    [
      'an RSA key in PKCS#1 form (kubeadm, kind)',
      { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
      'pkcs1',
    ],
    ['an ECDSA P-256 key in SEC1 form', { name: 'ECDSA', namedCurve: 'P-256' }, 'sec1'],
    ['an ECDSA P-384 key in PKCS#8 form', { name: 'ECDSA', namedCurve: 'P-384' }, 'pkcs8'],
  ] as const)('issues certificates that verify against a CA with %s', async (_, algorithm, keyType) => {
    const pair = await foreignCA(algorithm, keyType);
    const ca = await loadCertificateAuthority(pair);
    const issued = await ca.issue({ commonName: 'front-proxy-client', usage: 'client' });

    const leaf = new X509Certificate(issued.cert);
    const caCert = new X509Certificate(pair.cert);
    expect(leaf.checkIssued(caCert)).toBe(true);
    expect(leaf.verify(caCert.publicKey)).toBe(true);
    expect(leaf.subject).toBe('CN=front-proxy-client');
  });

  it('still loads the CAs it makes itself', async () => {
    const made = await createCertificateAuthority('infra');
    const ca = await loadCertificateAuthority(made);
    const leaf = new X509Certificate((await ca.issue({ commonName: 'c', usage: 'client' })).cert);
    expect(leaf.verify(new X509Certificate(made.cert).publicKey)).toBe(true);
  });

  it('says which keys it takes when the key cannot sign certificates, or is not a key', async () => {
    const { cert } = await createCertificateAuthority('infra');
    const ed25519 = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    await expect(loadCertificateAuthority({ cert, key: ed25519 })).rejects.toThrow(
      'a ed25519 key cannot sign certificates here: use an RSA, ECDSA P-256 or P-384 key',
    );
    await expect(loadCertificateAuthority({ cert, key: 'not a key' })).rejects.toThrow(
      "the CA's private key is not a PEM private key (PKCS#8, PKCS#1 RSA or SEC1 EC)",
    );
  });
});
