// Trusting a server by a pinned key: the SHA-256 of its CA's public key (SubjectPublicKeyInfo),
// not of the leaf certificate. Every operator replica serves a leaf its shared CA signed, and
// renews it daily, so a pin on the leaf would break on each renewal and differ between
// replicas; the CA's key stays.
import { createHash, X509Certificate } from 'node:crypto';
import type { DetailedPeerCertificate } from 'node:tls';

/** AA:BB:… upper case, from any spelling (colons or not, any case, optional sha256: prefix). */
export function formatFingerprint(text: string): string {
  const hex = text
    .replace(/^sha256:/i, '')
    .replace(/[^0-9a-f]/gi, '')
    .toUpperCase();
  return hex.match(/.{1,2}/g)?.join(':') ?? '';
}

export function validFingerprint(text: string): boolean {
  return /^[0-9A-F]{64}$/.test(formatFingerprint(text).replaceAll(':', ''));
}

function sameFingerprint(a: string, b: string): boolean {
  return formatFingerprint(a) === formatFingerprint(b) && formatFingerprint(a) !== '';
}

/** The certificates the server presented, leaf first, each followed by its issuer. */
export function presentedChain(peer: DetailedPeerCertificate): X509Certificate[] {
  const chain: X509Certificate[] = [];
  for (let cert: DetailedPeerCertificate | undefined = peer; cert?.raw; cert = cert.issuerCertificate) {
    const x509 = new X509Certificate(cert.raw);
    if (chain.some((c) => c.raw.equals(x509.raw))) break; // a self-signed root names itself
    chain.push(x509);
  }
  return chain;
}

/** SHA-256 of a certificate's public key (SubjectPublicKeyInfo), AA:BB:… */
export function keyPin(cert: X509Certificate): string {
  return formatFingerprint(
    createHash('sha256')
      .update(cert.publicKey.export({ type: 'spki', format: 'der' }))
      .digest('hex'),
  );
}

/** The pin to offer for a chain: the key of its top certificate (the CA; the leaf itself when self-signed). */
export function chainPin(chain: readonly X509Certificate[]): string {
  return keyPin(chain[chain.length - 1]!);
}

/**
 * Why the pinned key does not vouch for the chain, or undefined when it does: a certificate
 * in the chain has that key, and each certificate below it, down to the leaf, was signed by
 * the one above and is valid now.
 */
export function pinnedChainProblem(chain: readonly X509Certificate[], pin: string, now = new Date()): string | undefined {
  const anchor = chain.findIndex((cert) => sameFingerprint(keyPin(cert), pin));
  if (anchor < 0) return `no certificate it presented has the pinned CA key ${formatFingerprint(pin)}; its CA key is ${chainPin(chain)}`;
  for (let i = anchor; i > 0; i--) {
    const [issuer, cert] = [chain[i]!, chain[i - 1]!];
    if (!cert.checkIssued(issuer) || !cert.verify(issuer.publicKey)) return `its certificate ${cert.subject} was not signed by the pinned CA key`;
  }
  for (const cert of chain.slice(0, anchor + 1)) {
    if (now < cert.validFromDate || now > cert.validToDate)
      return `its certificate ${cert.subject} is valid only from ${cert.validFromDate.toISOString()} to ${cert.validToDate.toISOString()}`;
  }
  return undefined;
}
