import { X509Certificate } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { createCertificateAuthority } from '../lib/pki.ts';
import { chainPin, keyPin, pinnedChainProblem } from './pinning.ts';

type Authority = Awaited<ReturnType<typeof createCertificateAuthority>>;
let ca: Authority;
let impostorCA: Authority;
const leafOf = async (authority: Authority) =>
  new X509Certificate((await authority.issue({ commonName: 'infra', usage: 'server', validFor: { days: 30 }, dnsNames: ['infra'] })).cert);

beforeAll(async () => {
  ca = await createCertificateAuthority('infra-operator');
  impostorCA = await createCertificateAuthority('infra-operator');
});

describe('pinnedChainProblem', () => {
  it("accepts any leaf the pinned CA signed: a renewal or another replica's", async () => {
    const root = new X509Certificate(ca.cert);
    const pin = keyPin(root);
    expect(chainPin([await leafOf(ca), root])).toBe(pin);
    for (let i = 0; i < 2; i++) expect(pinnedChainProblem([await leafOf(ca), root], pin)).toBeUndefined();
  });

  it("refuses a leaf another CA signed, even presented with the pinned CA's certificate", async () => {
    const root = new X509Certificate(ca.cert);
    const pin = keyPin(root);
    expect(pinnedChainProblem([await leafOf(impostorCA), root], pin)).toBe('its certificate CN=infra was not signed by the pinned CA key');
    expect(pinnedChainProblem([await leafOf(impostorCA), new X509Certificate(impostorCA.cert)], pin)).toMatch(
      /^no certificate it presented has the pinned CA key .*; its CA key is /,
    );
  });

  it('refuses a chain that is not valid now', async () => {
    const root = new X509Certificate(ca.cert);
    const leaf = await leafOf(ca);
    const later = new Date(leaf.validToDate.getTime() + 1_000);
    expect(pinnedChainProblem([leaf, root], keyPin(root), later)).toMatch(/^its certificate CN=infra is valid only from /);
  });
});
