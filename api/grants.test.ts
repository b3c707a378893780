import { describe, expect, it } from 'vitest';
import { destinationNameProblem, dnsLabel, grantDestination, grantNamespace, infraResource, isExpired, parseResource } from './grants.ts';
import type { Grant } from './v1alpha1/types.ts';

const grant = (spec: Partial<Grant['spec']> = {}): Grant => ({
  apiVersion: 'infrahq.com/v1alpha1',
  kind: 'Grant',
  metadata: { name: 'g' },
  spec: { user: 'carl@example.com', role: 'view', resource: 'production', ...spec },
});

describe('parseResource', () => {
  it('reads <destination> as the whole cluster: no namespace', () => {
    expect(parseResource('production')).toEqual({ destination: 'production', namespace: undefined });
  });

  it('reads <destination>.<namespace> as one namespace of that destination', () => {
    expect(parseResource('production.web')).toEqual({ destination: 'production', namespace: 'web' });
  });

  it('reads the reserved resource infra as the destination infra', () => {
    expect(parseResource(infraResource)).toEqual({ destination: 'infra', namespace: undefined });
  });
});

describe('grantDestination and grantNamespace', () => {
  it("take the two parts of the Grant's resource", () => {
    expect(grantDestination(grant({ resource: 'staging.api' }))).toBe('staging');
    expect(grantNamespace(grant({ resource: 'staging.api' }))).toBe('api');
  });

  it('give no namespace for a cluster-wide Grant', () => {
    expect(grantDestination(grant({ resource: 'staging' }))).toBe('staging');
    expect(grantNamespace(grant({ resource: 'staging' }))).toBeUndefined();
  });
});

describe('isExpired', () => {
  const expiresAt = '2030-01-31T18:00:00Z';
  const at = (iso: string) => new Date(iso);

  it('never expires a Grant without expiresAt', () => {
    expect(isExpired(grant(), at('9999-12-31T00:00:00Z'))).toBe(false);
  });

  it('keeps a Grant before its expiresAt', () => {
    expect(isExpired(grant({ expiresAt }), at('2030-01-31T17:59:59.999Z'))).toBe(false);
  });

  it('expires a Grant at exactly its expiresAt', () => {
    expect(isExpired(grant({ expiresAt }), at(expiresAt))).toBe(true);
  });

  it('expires a Grant after its expiresAt', () => {
    expect(isExpired(grant({ expiresAt }), at('2030-02-01T00:00:00Z'))).toBe(true);
  });

  it('compares instants, not text: an offset timestamp expires at the same moment as its UTC form', () => {
    const offset = grant({ expiresAt: '2030-01-31T19:00:00+01:00' });
    expect(isExpired(offset, at('2030-01-31T17:59:59Z'))).toBe(false);
    expect(isExpired(offset, at('2030-01-31T18:00:00Z'))).toBe(true);
  });
});

describe('destinationNameProblem', () => {
  it('accepts DNS labels', () => {
    for (const name of ['production', 'a', 'prod-2', '0', 'a'.repeat(63)]) expect(destinationNameProblem(name), name).toBeUndefined();
  });

  it('refuses what is not a DNS label, with an example of one', () => {
    for (const name of ['', 'Production', 'prod.web', 'prod_web', '-prod', 'prod-', 'a'.repeat(64), 'prod web']) {
      expect(destinationNameProblem(name), name).toMatch(/must be a DNS label.*e\.g\. production/);
    }
  });

  it('refuses the reserved name infra, saying why', () => {
    expect(destinationNameProblem(infraResource)).toMatch(/"infra" is reserved for access to Infra itself/);
  });

  it('agrees with dnsLabel', () => {
    expect(dnsLabel.test('infra')).toBe(true);
    expect(dnsLabel.test('web.prod')).toBe(false);
  });
});
