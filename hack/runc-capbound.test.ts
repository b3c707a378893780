// The OCI runtime wrapper hack/docker-engine.sh gives dockerd on hosts whose capability
// bounding set is short is Go; its own tests (which spec file each runc command reads,
// and that only the missing capabilities leave every set) run here so make test runs them.
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { runCommand } from './local-infra/command.ts';

it('runc-capbound passes its Go tests', async () => {
  const result = await runCommand('go', ['test', './...'], {
    cwd: join(import.meta.dirname, 'tools', 'runc-capbound'),
    env: { GOTOOLCHAIN: 'local', GOFLAGS: '-mod=mod' },
    timeoutMs: 120_000,
  });
  expect(result.stdout + result.stderr).toMatch(/^ok\s/m);
  expect(result.code).toBe(0);
}, 120_000);
