import { describe, expect, it } from 'vitest';
import { grantName, userName } from './names.ts';

const dnsSubdomain = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

describe('object names', () => {
  it('are readable like the samples, with a hash only where slugging lost something', () => {
    expect(grantName({ group: 'oncall', role: 'edit', resource: 'production' })).toBe('oncall-edit-production');
    expect(grantName({ group: 'Engineering', role: 'admin', resource: 'development' })).toMatch(/^engineering-admin-development-[0-9a-f]{8}$/);
    expect(grantName({ user: 'carl@example.com', role: 'edit', resource: 'production.web' })).toMatch(/^carl-example-com-edit-production-web-[0-9a-f]{8}$/);
    expect(userName('Carl@Example.com')).toMatch(/^carl-example-com-[0-9a-f]{8}$/);
  });

  it('keep apart subjects that slug alike, and users and groups of the same name', () => {
    const names = [
      grantName({ group: 'Web Dev', role: 'edit', resource: 'prod' }),
      grantName({ group: 'web-dev', role: 'edit', resource: 'prod' }),
      grantName({ group: 'WEB DEV', role: 'edit', resource: 'prod' }),
      grantName({ user: 'a@b.c', role: 'view', resource: 'prod' }),
      grantName({ group: 'a@b.c', role: 'view', resource: 'prod' }),
    ];
    expect(new Set(names).size).toBe(names.length);
    expect(grantName({ group: 'Web Dev', role: 'edit', resource: 'prod' })).toBe(names[0]);
  });

  it('are valid DNS subdomains of at most 253 characters, whatever the input', () => {
    const long = grantName({ user: `${'x'.repeat(300)}@example.com`, role: 'view', resource: 'production' });
    for (const name of [long, grantName({ group: '---', role: 'view', resource: 'p' }), userName('ü@ß.de')]) {
      expect(name).toMatch(dnsSubdomain);
      expect(name.length).toBeLessThanOrEqual(253);
    }
  });
});
