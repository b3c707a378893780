// The single executable's bundles (hack/executable.ts), without building the executable:
// its blob's main must serve a warm `infra tokens` alone, the rest of the CLI being an asset.
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { testDirectory } from '../test/temporary.ts';
import { bundleForExecutable } from './executable.ts';

const run = promisify(execFile);

it("the executable's main serves a warm `infra tokens` by itself: the rest of the CLI is an asset it does not hold", async () => {
  const { main, full } = await bundleForExecutable('0.0.0-test', testDirectory('infra-executable-bundle-'));
  const entry = readFileSync(main, 'utf8');
  expect(readFileSync(full, 'utf8')).toContain('commander.unknownOption');
  expect(entry).not.toContain('commander.unknownOption');
  expect(entry.length).toBeLessThan(16_384);

  const home = testDirectory('infra-executable-main-');
  const server = 'https://infra.example.com';
  writeFileSync(join(home, 'config.json'), JSON.stringify({ current: server, servers: { [server]: { trust: {} } } }));
  mkdirSync(join(home, 'tokens'));
  const expirationTimestamp = new Date(Date.now() + 300_000).toISOString();
  writeFileSync(join(home, 'tokens', 'prod.json'), JSON.stringify({ server, destination: 'prod', token: 'tok', expirationTimestamp }));
  // Plain Node, not the executable: a path that needed the asset would fail here.
  const { stdout } = await run(process.execPath, [main, 'tokens', '--destination', 'prod'], { env: { ...process.env, INFRA_HOME: home } });
  expect(JSON.parse(stdout)).toEqual({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: { token: 'tok', expirationTimestamp } });
});
