import { describe, expect, it } from 'vitest';
import { formatBootstrapToken, parseBootstrapToken } from './connector-bootstrap.ts';

describe('bootstrap credentials', () => {
  const secret = 'A'.repeat(42) + '_';

  it('carry their destination, readable, and parse back', () => {
    const token = formatBootstrapToken('production', secret);
    expect(token).toBe(`infra-bootstrap.production.${secret}`);
    expect(parseBootstrapToken(`  ${token}\n`)).toEqual({ destination: 'production', secret });
  });

  it('are refused when they are anything else', () => {
    for (const token of ['', 'infra-bootstrap.production', `infra-bootstrap.Production.${secret}`, `infra-bootstrap.production.${secret}x`, `iss_${secret}`]) {
      expect(parseBootstrapToken(token), token).toBeUndefined();
    }
  });
});
