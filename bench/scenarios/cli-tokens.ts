// `infra tokens` with a warm cache: kubectl runs the exec plugin before every request, so
// its cost is what every kubectl command pays on top of its own. Baseline: spawning
// `node -e 0`, the floor for any Node program. The CLI logs in for real against the
// bench's operator and fetches the token once; then only cached calls are timed. It times
// the bundled CLI (dist/cli/main.js, what `npm install` ships, built by bench/main.ts):
// running the .ts sources would add Node's type stripping to every start.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { programBundle } from '../../hack/build.ts';
import { operator, operatorCA, ownNamespace, timeSpawn, userWithGrant, waitForQuiet, type Scenario } from '../harness.ts';
import { median, percentile, type Row } from '../table.ts';

const title = 'infra tokens (warm cache)';
const cli = programBundle('cli');

export const cliTokens: Scenario = {
  id: 'cli-tokens',
  title,
  async run(ctx) {
    const reps = ctx.quick ? 5 : 30;
    const ns = await ownNamespace(ctx, 'bench-cli');
    const { email, password, destination } = await userWithGrant(ctx, ns);
    const op = await operator(ctx, { namespace: ns });
    const home = await mkdtemp(join(tmpdir(), 'bench-cli-'));
    ctx.defer(() => rm(home, { recursive: true, force: true }));
    const caFile = join(home, 'operator-ca.crt');
    await writeFile(caFile, await operatorCA(ctx, ns));
    const env = { ...process.env, INFRA_HOME: join(home, 'infra'), KUBECONFIG: join(home, 'kubeconfig') };
    const run = (args: string[], input?: string) => {
      const child = promisify(execFile)(process.execPath, [cli, ...args], { env });
      child.child.stdin!.end(input ?? '');
      return child;
    };
    await run(['login', op.publicURL, '--user', email, '--password-stdin', '--ca-file', caFile], `${password}\n`);
    await run(['tokens', '--destination', destination]); // fills the cache

    const time = async (args: string[]) => {
      const times: number[] = [];
      for (let i = 0; i < reps + 2; i++) times.push(await timeSpawn(process.execPath, args, env));
      return times.slice(2); // the first two warm the page cache
    };
    await waitForQuiet(ctx);
    const ours = await time([cli, 'tokens', '--destination', destination]);
    const baseline = await time(['-e', '0']);
    const note = `${reps} runs each after 2 warm-up runs; cache filled by a real login and one fetch`;
    return [
      {
        scenario: title,
        metric: 'wall time p50',
        unit: 'ms',
        ours: median(ours),
        baseline: median(baseline),
        baselineLabel: 'spawn `node -e 0` (same Node, same count)',
        target: { on: 'ratio', op: '<=', value: 2 },
        note,
      },
      {
        scenario: title,
        metric: 'wall time p99',
        unit: 'ms',
        ours: percentile(ours, 99),
        baseline: percentile(baseline, 99),
        baselineLabel: 'spawn `node -e 0`',
        note,
      },
    ] satisfies Row[];
  },
};
