// The bench harness keeps working: `node bench/main.ts --quick` runs every scenario at
// small sizes, each on a control plane of its own, exits 0, and writes a result with a
// number in every row. The figures themselves are not checked: a quick run's do not count.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { runCommand } from '../hack/local-infra/command.ts';
import { testDirectory } from '../test/temporary.ts';
import { scenarios } from './scenarios/index.ts';
import type { Results } from './table.ts';

/**
 * For the run, a guard against a hang, not a measure: every scenario in --quick mode, each
 * on a control plane of its own, on a busy 2-core machine. Then up to 30 s for the bench to stop
 * what it started (SIGTERM), within the test's own timeout.
 */
const runTimeoutMs = 600_000;

it(
  'runs every scenario in --quick mode and writes a number in every row',
  async () => {
    const out = testDirectory('bench-quick-');
    const run = await runCommand(process.execPath, [join(import.meta.dirname, 'main.ts'), '--quick', '--out', out], { timeoutMs: runTimeoutMs });
    expect(run.code, run.stderr.split('\n').slice(-30).join('\n')).toBe(0);

    const results = JSON.parse(await readFile(join(out, 'quick.json'), 'utf8')) as Results;
    expect(results).toMatchObject({ mode: 'quick', errors: [] });
    expect(new Set(results.rows.map((r) => r.scenario))).toEqual(new Set(scenarios.map((s) => s.title)));
    for (const row of results.rows) {
      expect(Number.isFinite(row.ours), `${row.scenario}: ${row.metric}`).toBe(true);
      if (row.baseline !== undefined) expect(Number.isFinite(row.baseline), `${row.scenario}: ${row.metric} (baseline)`).toBe(true);
    }
    expect(await readFile(join(out, 'quick.md'), 'utf8')).toContain('| scenario | metric |');
  },
  runTimeoutMs + 30_000,
);
