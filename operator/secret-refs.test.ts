import { describe, expect, it } from 'vitest';
import type { Provider } from '../api/v1alpha1/types.ts';
import {
  issuerAnnotation,
  passwordSecretName,
  providerLabel,
  providerSecretBinding,
  providerSecretProblem,
  readProviderSecret,
  secretRefProblem,
  type StoredSecret,
} from './secret-refs.ts';

describe('secretRefProblem', () => {
  it("allows Secrets of the user's own, and the one the operator made for this object", () => {
    expect(secretRefProblem({ kind: 'Provider', name: 'okta' }, 'okta-client-secret')).toBeUndefined();
    expect(secretRefProblem({ kind: 'Provider', name: 'okta' }, 'infra-provider-okta')).toBeUndefined();
    expect(secretRefProblem({ kind: 'User', name: 'carl' }, passwordSecretName('carl'))).toBeUndefined();
  });

  it("refuses the operator's other Secrets, another object's included", () => {
    expect(secretRefProblem({ kind: 'Provider', name: 'okta' }, 'infra-operator-ca')).toMatch(/^Provider okta may not use Secret infra-operator-ca: /);
    expect(secretRefProblem({ kind: 'Provider', name: 'okta' }, 'infra-provider-google')).toBeDefined();
    expect(secretRefProblem({ kind: 'User', name: 'carl' }, passwordSecretName('ann'))).toMatch(/e\.g\. carl-password$/);
  });
});

describe('providerSecretProblem', () => {
  const okta = (issuer = 'https://acme.okta.com'): Provider => ({
    apiVersion: 'infrahq.com/v1alpha1',
    kind: 'Provider',
    metadata: { name: 'okta' },
    spec: { kind: 'okta', issuer, clientID: 'infra', clientSecretRef: { name: 'okta-client-secret', key: 'clientSecret' } },
  });

  it('allows a Secret labelled with the Provider and annotated with its issuer (a trailing slash aside)', () => {
    expect(providerSecretProblem(okta(), 'okta-client-secret', providerSecretBinding('okta', 'https://acme.okta.com'))).toBeUndefined();
    expect(providerSecretProblem(okta('https://acme.okta.com/'), 'okta-client-secret', providerSecretBinding('okta', 'https://acme.okta.com'))).toBeUndefined();
  });

  it("refuses another Provider's Secret, one for another issuer, and an unbound one, saying which and how to bind it", () => {
    expect(providerSecretProblem(okta(), 'google-sa', providerSecretBinding('google', 'https://acme.okta.com'))).toMatch(
      /^Provider okta may not use Secret google-sa: it is labelled infrahq\.com\/provider=google, and a Provider only uses a Secret labelled infrahq\.com\/provider=okta and annotated infrahq\.com\/issuer=https:\/\/acme\.okta\.com/,
    );
    expect(providerSecretProblem(okta('https://evil.example.com'), 'okta-client-secret', providerSecretBinding('okta', 'https://acme.okta.com'))).toContain(
      'it is annotated infrahq.com/issuer=https://acme.okta.com',
    );
    expect(providerSecretProblem(okta(), 'plain', { labels: { [providerLabel]: 'okta' }, annotations: {} })).toContain(
      `it has no annotation ${issuerAnnotation}`,
    );
    expect(providerSecretProblem(okta(), 'plain', { labels: {}, annotations: {} })).toMatch(
      /it has no label infrahq\.com\/provider.*kubectl -n <operator namespace> label --overwrite secret plain infrahq\.com\/provider=okta && kubectl -n <operator namespace> annotate --overwrite secret plain infrahq\.com\/issuer=https:\/\/acme\.okta\.com$/,
    );
  });
});

describe('readProviderSecret', () => {
  const provider: Provider = {
    apiVersion: 'infrahq.com/v1alpha1',
    kind: 'Provider',
    metadata: { name: 'okta' },
    spec: { kind: 'okta', issuer: 'https://acme.okta.com', clientID: 'infra', clientSecretRef: { name: 'x', key: 'clientSecret' } },
  };
  const stored: Record<string, StoredSecret> = {
    mine: { ...providerSecretBinding('okta', 'https://acme.okta.com'), data: { clientSecret: 'v' } },
    theirs: { ...providerSecretBinding('google', 'https://accounts.google.com'), data: { clientSecret: 'w' } },
  };
  const read = async (name: string) => stored[name];

  it('yields the value only of a bound Secret', async () => {
    expect(await readProviderSecret(provider, { name: 'mine', key: 'clientSecret' }, read)).toEqual({ value: 'v' });
    expect(await readProviderSecret(provider, { name: 'theirs', key: 'clientSecret' }, read)).toMatchObject({ reason: 'SecretNotAllowed' });
    expect(await readProviderSecret(provider, { name: 'absent', key: 'clientSecret' }, read)).toMatchObject({ reason: 'SecretNotFound' });
  });
});
