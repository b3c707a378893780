import { describe, expect, it } from 'vitest';
import { withProviderGroups } from './users.ts';

describe('withProviderGroups', () => {
  it("replaces only the reporting Provider's groups: another Provider's stay, for a person who logs in through both", () => {
    expect(withProviderGroups(['entra:ops', 'okta:eng', 'okta:old'], 'okta', ['okta:eng', 'okta:new'])).toEqual(['entra:ops', 'okta:eng', 'okta:new']);
  });

  it('drops names without a source, stored before groups had sources', () => {
    expect(withProviderGroups(['Engineering', 'okta:eng'], 'okta', ['okta:eng'])).toEqual(['okta:eng']);
  });

  it("empties the Provider's groups when it reports none", () => {
    expect(withProviderGroups(['entra:ops', 'okta:eng'], 'okta', [])).toEqual(['entra:ops']);
  });
});
