// Secrets never reach a log line: the known secret-bearing fields are replaced wherever a
// logged object carries them, up to req.headers.authorization, and nothing else changes.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { redactSecrets } from './log.ts';

describe('redactSecrets', () => {
  it('replaces secret fields at the top level and two levels down, leaving the logged object as it was', () => {
    const line = {
      action: 'login',
      password: 'hunter2',
      spec: { email: 'a@example.com', sessionKey: 'sk', nested: { token: 't' } },
      req: { method: 'POST', headers: { authorization: 'Bearer abc', accept: 'json' } },
      groups: ['sre'],
    };
    const before = structuredClone(line);
    expect(redactSecrets(line)).toEqual({
      action: 'login',
      password: '[redacted]',
      spec: { email: 'a@example.com', sessionKey: '[redacted]', nested: { token: '[redacted]' } },
      req: { method: 'POST', headers: { authorization: '[redacted]', accept: 'json' } },
      groups: ['sre'],
    });
    expect(line).toEqual(before);
  });

  it('returns a line without secrets as it is, and leaves errors and deeper levels alone', () => {
    const line = { action: 'token', user: 'a@example.com', groups: ['sre'], destination: 'prod' };
    expect(redactSecrets(line)).toBe(line);
    const err = Object.assign(new Error('boom'), { code: 'ECONNRESET' });
    expect(redactSecrets({ err }).err).toBe(err);
  });

  it('is what createLogger writes with', () => {
    const script = `import { createLogger } from ${JSON.stringify(join(import.meta.dirname, 'log.ts'))};
      createLogger('test').info({ user: 'bob', clientSecret: 's3cret', headers: { authorization: 'Bearer xyz' } }, 'hello');`;
    const output = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    const line = JSON.parse(output) as Record<string, unknown>;
    expect(line).toMatchObject({
      component: 'test',
      level: 'info',
      msg: 'hello',
      user: 'bob',
      clientSecret: '[redacted]',
      headers: { authorization: '[redacted]' },
    });
    expect(output).not.toContain('s3cret');
    expect(output).not.toContain('xyz');
  });
});
