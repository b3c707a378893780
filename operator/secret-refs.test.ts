import { describe, expect, it } from 'vitest';
import { passwordSecretName, secretRefProblem } from './secret-refs.ts';

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
