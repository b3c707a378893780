// Directories for one test's files (homes, kubeconfigs, config files), removed with
// everything in them when the test finishes, as Go's t.TempDir: a run leaves no
// credentials behind in /tmp.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';

/** A fresh directory under the OS temp dir, removed when the current test finishes. Call it inside a test. */
export function testDirectory(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
