// `infra tokens` with a warm cache: kubectl runs the exec plugin before every request, so
// its cost is what every kubectl command pays on top of its own. Baseline: spawning
// `node -e 0`, the floor for any Node program. The CLI logs in for real against the
// bench's operator and fetches the token once; then only cached calls are timed, the
// three commands taking turns so that a noisy neighbour slows all of them alike. It times
// what people install: the bundled CLI (dist/cli/main.js, the npm package, built by
// bench/main.ts) and the single executable (dist/bin/infra-<platform>, with its V8 code
// cache; hack/executable.ts). Running the .ts sources would add type stripping to every start.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { programBundle } from '../../hack/build.ts';
import { buildExecutable, hostPlatform } from '../../hack/executable.ts';
import { operator, operatorCA, ownNamespace, timeSpawn, userWithGrant, waitForQuiet, type Scenario } from '../harness.ts';
import { median, percentile, type Row } from '../table.ts';

const title = 'infra tokens (warm cache)';
/** Issue 26: a warm `infra tokens` costs at most 20% more than starting Node. */
const nodeStartRatio = 1.2;
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
    const host = hostPlatform();
    const executable = host instanceof Error ? undefined : await buildExecutable(host);

    const commands = {
      bundled: [process.execPath, cli, 'tokens', '--destination', destination],
      ...(executable ? { executable: [executable, 'tokens', '--destination', destination] } : {}),
      node: [process.execPath, '-e', '0'],
    };
    const times: Record<string, number[]> = Object.fromEntries(Object.keys(commands).map((name) => [name, []]));
    await waitForQuiet(ctx);
    for (let i = 0; i < reps + 2; i++) {
      for (const [name, [command, ...args]] of Object.entries(commands)) times[name]!.push(await timeSpawn(command!, args, env));
    }
    // The first two rounds warm the page cache.
    const [ours, baseline, sea] = [times['bundled']!.slice(2), times['node']!.slice(2), times['executable']?.slice(2)];
    const note = `${reps} runs each, taking turns, after 2 warm-up rounds; cache filled by a real login and one fetch`;
    const executableRows: Row[] = sea
      ? [
          {
            scenario: title,
            metric: 'single executable, wall time p50',
            unit: 'ms',
            ours: median(sea),
            baseline: median(baseline),
            baselineLabel: 'spawn `node -e 0` (same Node, same count)',
            target: { on: 'ratio', op: '<=', value: nodeStartRatio },
            note,
          },
          {
            scenario: title,
            metric: 'single executable vs bundled JS, p50',
            unit: 'ms',
            ours: median(sea),
            baseline: median(ours),
            baselineLabel: '`node dist/cli/main.js` (the npm package)',
            target: { on: 'ratio', op: '<=', value: 1.25 },
            note,
          },
          {
            scenario: title,
            metric: 'single executable, wall time p99',
            unit: 'ms',
            ours: percentile(sea, 99),
            baseline: percentile(baseline, 99),
            baselineLabel: 'spawn `node -e 0`',
            note,
          },
        ]
      : [];
    return [
      {
        scenario: title,
        metric: 'wall time p50',
        unit: 'ms',
        ours: median(ours),
        baseline: median(baseline),
        baselineLabel: 'spawn `node -e 0` (same Node, same count)',
        target: { on: 'ratio', op: '<=', value: nodeStartRatio },
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
      ...executableRows,
    ] satisfies Row[];
  },
};
