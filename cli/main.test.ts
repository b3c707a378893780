// infra as a process: what a shell sees.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { expect, it } from 'vitest';

it('ends quietly with the status of a closed pipe when its reader stops early (infra … | head)', async () => {
  const child = spawn(process.execPath, [join(import.meta.dirname, 'main.ts'), 'completion', 'bash'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  // Like `| grep -q` that has already matched: the reader is gone before infra writes
  // (its output fits in a pipe's buffer, so a reader that leaves later is never noticed).
  child.stdout.destroy();
  const [code] = (await once(child, 'exit')) as [number | null];
  expect(stderr).toBe('');
  expect(code).toBe(141);
});
