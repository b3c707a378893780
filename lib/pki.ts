// Small certificate authority helpers on WebCrypto (ECDSA P-256), used by the local
// control plane, the operator's serving certificates and the connector's own CA. A CA
// loaded from elsewhere may hold an RSA or ECDSA key (kubeadm's and kind's CAs are RSA).
// @peculiar/x509 resolves its services through tsyringe, which needs the Reflect metadata API.
import 'reflect-metadata';
import { createPrivateKey, webcrypto, type KeyObject } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { errorMessage } from './errors.ts';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const keyAlgorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/** How a CA key signs: the key's own algorithm, with the hash its size calls for. */
type SigningAlgorithm = typeof keyAlgorithm | { name: 'ECDSA'; namedCurve: 'P-384'; hash: 'SHA-384' } | { name: 'RSASSA-PKCS1-v1_5'; hash: 'SHA-256' };

export interface PemPair {
  /** PEM certificate. */
  cert: string;
  /** PEM PKCS#8 private key. */
  key: string;
}

export interface CertificateAuthority extends PemPair {
  issue(request: CertificateRequest): Promise<PemPair>;
}

export interface CertificateRequest {
  commonName: string;
  organizations?: string[];
  dnsNames?: string[];
  ipAddresses?: string[];
  usage: 'client' | 'server' | 'client-server';
  validFor?: Duration;
}

export interface Duration {
  days?: number;
  hours?: number;
  minutes?: number;
  seconds?: number;
}

const defaultValidity: Duration = { days: 365 };

function validity(duration: Duration): { notBefore: Date; notAfter: Date } {
  const now = Date.now();
  const ms = ((duration.days ?? 0) * 24 * 60 + (duration.hours ?? 0) * 60 + (duration.minutes ?? 0)) * 60_000 + (duration.seconds ?? 0) * 1_000;
  // Backdate a little so a peer with a slightly slow clock accepts a fresh certificate.
  return { notBefore: new Date(now - 5 * 60_000), notAfter: new Date(now + ms) };
}

function serialNumber(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = bytes[0]! & 0x7f; // positive
  return Buffer.from(bytes).toString('hex');
}

function distinguishedName(commonName: string, organizations: string[] = []): string {
  const escape = (value: string) => value.replace(/([,+"\\<>;=])/g, '\\$1');
  return [`CN=${escape(commonName)}`, ...organizations.map((o) => `O=${escape(o)}`)].join(', ');
}

async function generateKeys(): Promise<CryptoKeyPair> {
  return await webcrypto.subtle.generateKey(keyAlgorithm, true, ['sign', 'verify']);
}

export async function privateKeyToPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

export async function publicKeyToPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('spki', key);
  return x509.PemConverter.encode(der, 'PUBLIC KEY');
}

function signingAlgorithm(key: KeyObject): SigningAlgorithm {
  if (key.asymmetricKeyType === 'rsa') return { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
  const curve = key.asymmetricKeyType === 'ec' ? key.asymmetricKeyDetails?.namedCurve : undefined;
  if (curve === 'prime256v1') return keyAlgorithm;
  if (curve === 'secp384r1') return { name: 'ECDSA', namedCurve: 'P-384', hash: 'SHA-384' };
  throw new Error(`a ${key.asymmetricKeyType ?? 'unknown'}${curve ? ` ${curve}` : ''} key cannot sign certificates here: use an RSA, ECDSA P-256 or P-384 key`);
}

/** A PEM private key in PKCS#8, PKCS#1 (RSA) or SEC1 (EC) form, with the algorithm it signs with. */
async function importSigningKey(pem: string): Promise<{ key: CryptoKey; algorithm: SigningAlgorithm }> {
  let keyObject: KeyObject;
  try {
    keyObject = createPrivateKey(pem);
  } catch (err) {
    throw new Error(`the CA's private key is not a PEM private key (PKCS#8, PKCS#1 RSA or SEC1 EC): ${errorMessage(err)}`, { cause: err });
  }
  const algorithm = signingAlgorithm(keyObject);
  const der = keyObject.export({ type: 'pkcs8', format: 'der' });
  return { key: await webcrypto.subtle.importKey('pkcs8', der, algorithm, true, ['sign']), algorithm };
}

/** Generates a key pair, returned as PEM (PKCS#8 private key, SPKI public key). */
export async function generateKeyPairPem(): Promise<{ privateKey: string; publicKey: string }> {
  const keys = await generateKeys();
  return { privateKey: await privateKeyToPem(keys.privateKey), publicKey: await publicKeyToPem(keys.publicKey) };
}

export async function createCertificateAuthority(commonName: string, validFor: Duration = { days: 3650 }): Promise<CertificateAuthority> {
  const keys = await generateKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: distinguishedName(commonName),
    ...validity(validFor),
    signingAlgorithm: keyAlgorithm,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return authorityFrom(cert, keys.privateKey, keyAlgorithm);
}

/** Rebuilds a CA from its PEM certificate and key, e.g. one kept in a Secret or on disk. */
export async function loadCertificateAuthority(pair: PemPair): Promise<CertificateAuthority> {
  const { key, algorithm } = await importSigningKey(pair.key);
  return authorityFrom(new x509.X509Certificate(pair.cert), key, algorithm);
}

/**
 * The issuer's key identifier as the CA states it: verifiers find the issuer by it, and a
 * CA another tool made (kubeadm's) may have computed it differently than we would.
 */
async function authorityKeyIdentifier(caCert: x509.X509Certificate): Promise<x509.AuthorityKeyIdentifierExtension> {
  const stated = caCert.getExtension(x509.SubjectKeyIdentifierExtension);
  return stated ? new x509.AuthorityKeyIdentifierExtension(stated.keyId, false) : await x509.AuthorityKeyIdentifierExtension.create(caCert, false);
}

async function authorityFrom(caCert: x509.X509Certificate, caKey: CryptoKey, caAlgorithm: SigningAlgorithm): Promise<CertificateAuthority> {
  const caPem: PemPair = { cert: caCert.toString('pem'), key: await privateKeyToPem(caKey) };
  const issuerKeyIdentifier = await authorityKeyIdentifier(caCert);
  return {
    ...caPem,
    async issue(request) {
      const keys = await generateKeys();
      const extendedUsages = {
        client: [x509.ExtendedKeyUsage.clientAuth],
        server: [x509.ExtendedKeyUsage.serverAuth],
        'client-server': [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth],
      }[request.usage];
      const alternativeNames = [
        ...(request.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
        ...(request.ipAddresses ?? []).map((value) => ({ type: 'ip' as const, value })),
      ];
      const cert = await x509.X509CertificateGenerator.create({
        serialNumber: serialNumber(),
        subject: distinguishedName(request.commonName, request.organizations),
        issuer: caCert.subject,
        ...validity(request.validFor ?? defaultValidity),
        signingAlgorithm: caAlgorithm,
        publicKey: keys.publicKey,
        signingKey: caKey,
        extensions: [
          new x509.BasicConstraintsExtension(false, undefined, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
          new x509.ExtendedKeyUsageExtension(extendedUsages, false),
          issuerKeyIdentifier,
          ...(alternativeNames.length > 0 ? [new x509.SubjectAlternativeNameExtension(alternativeNames, false)] : []),
        ],
      });
      return { cert: cert.toString('pem'), key: await privateKeyToPem(keys.privateKey) };
    },
  };
}
