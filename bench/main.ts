#!/usr/bin/env node
// `npm run bench [-- --quick] [-- --only <id>]`: runs every scenario in bench/scenarios/,
// each on a local hub + spoke control plane of its own with the CRDs (each starts what else
// it needs, e.g. an operator), prints one table — our figure, the baseline measured in the same
// run, the ratio, the target, pass or miss — and writes it to bench/results/. The programs
// run as the bundles that ship (dist/, built first).
//
// Exit status: 0 when every scenario ran (whether or not it met its target), 1 when a
// scenario or the harness crashed, 130/143 when interrupted.
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { inspect, parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { buildPrograms } from '../hack/build.ts';
import { ControlPlane } from '../hack/controlplane/controlplane.ts';
import { installHubAPI } from '../hack/controlplane/crds.ts';
import { toolPaths } from '../hack/controlplane/tools.ts';
import { loadKubeConfig } from '../lib/kube.ts';
import { Cleanups, machineCpuMs, type BenchContext, type Scenario } from './harness.ts';
import { scenarios } from './scenarios/index.ts';
import { evaluate, header, machine, markdownReport, mergeResults, percent, textTable, type ResultRow, type Results, type ScenarioError } from './table.ts';

const usage = `Usage: node bench/main.ts [--quick] [--only ID]... [--merge] [--out DIR]

  --quick     small sizes and fewer repetitions (a harness check, a few minutes);
              writes bench/results/quick.{json,md}
  --only ID   run only these scenarios (${scenarios.map((s) => s.id).join(', ')});
              writes bench/results/partial.{json,md}
  --merge     with --only (full sizes): also put these scenarios' rows into
              bench/results/latest.{json,md}, in place of the ones there
  --out DIR   write the results to DIR instead of bench/results
Without flags, writes bench/results/latest.{json,md}.`;

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string', multiple: true },
    merge: { type: 'boolean', default: false },
    out: { type: 'string', default: join(import.meta.dirname, 'results') },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log(usage);
  process.exit(0);
}
const unknown = (values.only ?? []).filter((id) => !scenarios.some((s) => s.id === id));
if (unknown.length > 0) {
  console.error(`bench: no scenario ${unknown.join(', ')}\n\n${usage}`);
  process.exit(2);
}
if (values.merge && (!values.only || values.quick)) {
  console.error(`bench: --merge needs --only and full sizes (no --quick)\n\n${usage}`);
  process.exit(2);
}
const quick = values.quick;
const selected = values.only ? scenarios.filter((s) => values.only!.includes(s.id)) : scenarios;
const resultsName = quick ? 'quick' : values.only ? 'partial' : 'latest';
const resultsDir = values.out;

const log = (message: string) => process.stderr.write(`bench: ${message}\n`);
// Whoever started us may have closed our pipes (Node's execFile does so before its
// timeout's SIGTERM): a failed write must not end the bench before its cleanups have run.
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
let scenarioCleanups: Cleanups | undefined;

let interrupted = false;
for (const [signal, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
] as const) {
  process.on(signal, () => {
    if (interrupted) process.exit(code); // a second Ctrl-C: leave at once
    interrupted = true;
    log(`${signal}: stopping what the bench started (Ctrl-C again to leave at once)`);
    void (async () => {
      await scenarioCleanups?.runAll(15_000, 15_000);
      process.exit(code);
    })();
  });
}

async function main(): Promise<number> {
  const started = performance.now();
  log(`${quick ? 'quick' : 'full'} run: ${selected.map((s) => s.id).join(', ')}`);
  log('bundling the programs into dist/ (what ships, what the scenarios start)…');
  await buildPrograms();
  const before = await machineCpuMs();
  await sleep(1000);
  const after = await machineCpuMs();
  const backgroundBusy = (after.busy - before.busy) / (after.total - before.total);
  if (backgroundBusy > 0.2) log(`warning: the machine is already ${percent(backgroundBusy)} busy; figures will be lower and noisier`);
  const rows: ResultRow[] = [];
  const errors: ScenarioError[] = [];
  for (const scenario of selected) {
    if (interrupted) break;
    const cleanups = new Cleanups();
    scenarioCleanups = cleanups;
    const scenarioLog = (message: string) => log(`[${scenario.id}] ${message}`);
    const scenarioStart = performance.now();
    scenarioLog(`${scenario.title}…`);
    try {
      const { controlPlane, spokeAuthenticationConfig } = await freshControlPlane(cleanups, scenario, scenarioLog);
      const { hub, spoke } = controlPlane.state.clusters;
      const ctx: BenchContext = {
        quick,
        controlPlane,
        ...(spokeAuthenticationConfig ? { spokeAuthenticationConfig } : {}),
        hubKubeconfig: hub.adminKubeconfig,
        hub: loadKubeConfig(hub.adminKubeconfig),
        spokeKubeconfig: spoke.adminKubeconfig,
        spoke: loadKubeConfig(spoke.adminKubeconfig),
        defer: (cleanup, timeoutMs) => cleanups.add(scenario.id, cleanup, timeoutMs),
        log: scenarioLog,
      };
      rows.push(...(await scenario.run(ctx)).map(evaluate));
      scenarioLog(`done in ${((performance.now() - scenarioStart) / 1000).toFixed(1)} s`);
    } catch (err) {
      if (interrupted) break; // its processes were stopped under it; not a crash
      const error = describeError(err);
      errors.push({ scenario: scenario.title, error });
      scenarioLog(`CRASHED: ${error}`);
    } finally {
      await cleanups.runAll();
      scenarioCleanups = undefined;
    }
  }
  if (interrupted) return 130;

  const results: Results = {
    date: new Date().toISOString(),
    mode: quick ? 'quick' : 'full',
    durationSec: (performance.now() - started) / 1000,
    machine: machine(),
    kubernetesVersion: (await toolPaths()).kubernetesVersion,
    backgroundBusy,
    rows,
    errors,
  };
  await writeResults(resultsName, results);
  process.stdout.write(`\n${header(results)}\n\n${textTable(results)}\n\n`);
  if (values.merge) {
    const latest = JSON.parse(await readFile(join(resultsDir, 'latest.json'), 'utf8')) as Results;
    await writeResults(
      'latest',
      mergeResults(
        latest,
        results,
        scenarios.map((s) => s.title),
      ),
    );
  }
  if (errors.length > 0) log(`${errors.length} scenario(s) crashed: ${errors.map((e) => e.scenario).join(', ')}`);
  return errors.length > 0 ? 1 : 0;
}

/**
 * A hub + spoke with the CRDs for one scenario, stopped after everything else the scenario
 * started (its first cleanup, so its last). Fresh for each scenario: what one leaves behind,
 * e.g. 10,000 Grants deleted and the API servers' heaps and etcd's history grown by them,
 * does not weigh on the next one's figures, a full run measures each scenario as `--only`
 * does, and a control plane one scenario breaks does not fail the rest.
 */
async function freshControlPlane(
  cleanups: Cleanups,
  scenario: Scenario,
  log: (message: string) => void,
): Promise<{ controlPlane: ControlPlane; spokeAuthenticationConfig?: string }> {
  const started = performance.now();
  const spokeAuthenticationConfig = scenario.spokeAuthenticationConfig ? await emptyAuthenticationConfig(cleanups, scenario.id) : undefined;
  const controlPlane = await ControlPlane.start({
    gcTrace: true,
    ...(spokeAuthenticationConfig ? { authenticationConfig: { spoke: spokeAuthenticationConfig } } : {}),
  });
  cleanups.add(`${scenario.id}: control plane`, () => controlPlane.stop(), 60_000);
  await installHubAPI(controlPlane.state.clusters.hub.adminKubeconfig);
  log(`control plane up (Kubernetes ${controlPlane.state.kubernetesVersion}), CRDs installed in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  void controlPlane.crashed.then((reason) => log(`the control plane crashed: ${reason}`));
  return { controlPlane, ...(spokeAuthenticationConfig ? { spokeAuthenticationConfig } : {}) };
}

/** An AuthenticationConfiguration with no JWT issuer, in a directory removed after the scenario. */
async function emptyAuthenticationConfig(cleanups: Cleanups, id: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-authn-'));
  cleanups.add(`${id}: authentication config`, () => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'authentication-config.yaml');
  await writeFile(path, stringify({ apiVersion: 'apiserver.config.k8s.io/v1', kind: 'AuthenticationConfiguration', jwt: [] }));
  return path;
}

/** The stack and what caused it: "fetch failed" alone does not say the connection was refused. */
function describeError(err: unknown): string {
  return err instanceof Error ? inspect(err, { depth: 4 }) : String(err);
}

/** <resultsDir>/<name>.json and .md, each replaced in one step. */
async function writeResults(name: string, results: Results): Promise<void> {
  await mkdir(resultsDir, { recursive: true });
  for (const [ext, text] of [
    ['json', `${JSON.stringify(results, null, 2)}\n`],
    ['md', markdownReport(results)],
  ] as const) {
    const file = join(resultsDir, `${name}.${ext}`);
    await writeFile(`${file}.tmp`, text);
    await rename(`${file}.tmp`, file);
  }
  log(`wrote ${relative(process.cwd(), join(resultsDir, name))}.json and .md`);
}

let code: number;
try {
  code = await main();
} catch (err) {
  log(`the harness failed: ${describeError(err)}`);
  code = 1;
}
if (!interrupted) process.exit(code!);
