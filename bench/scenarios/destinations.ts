// Scale across destinations: does a Grant reach its spoke as fast when the hub holds
// 19 other destinations' Grants, each watched as its connector would watch them, as when
// the hub holds one destination's? One destination with a real connector is measured
// (a new Grant applied with kubectl in the hub, timed until a watch on the spoke sees
// its user in the RoleBinding, as in grant-propagation.ts), first alone (the baseline),
// then with the other destinations' Grants created and watched by real watch
// connections with the connector's label selector. The operator's memory is read in
// both states, and the hub API server's garbage collections while the samples ran.
import { CustomObjectsApi, type KubernetesListObject } from '@kubernetes/client-node';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { destinationLabel } from '../../api/grants.ts';
import { resources, type Grant } from '../../api/v1alpha1/types.ts';
import { bindingName } from '../../connector/rbac/desired.ts';
import type { Infra } from '../../hack/local-infra/infra.ts';
import { Informer } from '../../lib/controller/informer.ts';
import { fixtureGrants, grantFixture, runLabel, type GrantFixture } from '../grant-fixture.ts';
import { collectionsOf, hubCollectionsNote, splitByCollections, type Collection, type TimedSample } from '../go-collections.ts';
import {
  boundedLoad,
  idlenessNote,
  infra,
  infraQuiet,
  kubectl,
  processMemory,
  uniqueName,
  unlabelledSamples,
  waitForIdle,
  waitForQuiet,
  waitSettled,
  type BenchContext,
  type Idleness,
  type QuietGroup,
  type Scenario,
} from '../harness.ts';
import { wallClock } from '../propagation-steps.ts';
import { bindingId, hasExactly, hasSubject, lacksSubject, SpokeRoleBindings, subjectId } from '../spoke-bindings.ts';
import { blockBootstrap, percentile, type Row } from '../table.ts';

const title = 'Scale across destinations';
const sampleTimeoutMs = 60_000;
const inFlight = 32;
const { group, version } = resources.Grant;

interface Sizes {
  destinations: number;
  grantsEach: number;
  /** Spoke namespaces of the measured destination. */
  namespaces: number;
  warmup: number;
  samples: number;
  /** Bound on each sampling phase. */
  seconds: number;
  settleTimeoutMs: number;
}

interface Phase {
  /** Each measured sample: its latency, and the span from kubectl's start to the watch event (ms since the epoch). */
  samples: TimedSample[];
  rssMiB: number;
  hub: HubRuntime;
  /** The waits for the programs and the control plane to be idle before each sample's kubectl apply. */
  idleness: Idleness[];
}

/** The hub API server's Go runtime, from its /metrics: why a phase's slowest samples are slow. */
interface HubRuntime {
  /** Garbage collections: since the API server started (hubRuntime), or while a phase's samples were taken (Phase). */
  collections: number;
  /** The heap size that starts its next collection: twice the heap live after the last one (GOGC=100). */
  heapGoalMiB: number;
}

async function hubRuntime(ctx: BenchContext): Promise<HubRuntime> {
  const samples = unlabelledSamples(await kubectl(ctx.hubKubeconfig, ['get', '--raw', '/metrics']));
  return { collections: samples.get('go_gc_duration_seconds_count') ?? NaN, heapGoalMiB: (samples.get('go_memstats_next_gc_bytes') ?? NaN) / 2 ** 20 };
}

export const destinationsScale: Scenario = {
  id: 'destinations',
  title,
  async run(ctx) {
    const sizes: Sizes = ctx.quick
      ? { destinations: 4, grantsEach: 50, namespaces: 5, warmup: 1, samples: 5, seconds: 60, settleTimeoutMs: 120_000 }
      : // 1,000 samples per phase (~3 minutes on a quiet machine): with 200 the p99 was their
        // second slowest, and its ratio's interval came out as wide as 73–166% (bench/README.md).
        { destinations: 20, grantsEach: 500, namespaces: 50, warmup: 3, samples: 1000, seconds: 420, settleTimeoutMs: 900_000 };
    const destination = uniqueName('bench-dests');
    const fixture = await grantFixture(ctx, destination, { grants: sizes.grantsEach, namespaces: sizes.namespaces });
    const installed = await infra(ctx, destination);
    const bindings = await SpokeRoleBindings.start(ctx.spoke);
    ctx.defer(() => bindings.stop());
    await bindings.until(new Map([...fixture.expected].map(([id, subjects]) => [id, hasExactly(subjects)])), sizes.settleTimeoutMs);

    const quiet = infraQuiet(ctx, installed);
    const sample = (phase: string, firstSample: number, grantsInHub: number) =>
      measure(ctx, { phase, sizes, fixture, destination, bindings, installed, quiet, firstSample, grantsInHub });
    const one = await sample('1 destination', 0, sizes.grantsEach);

    const others = await otherDestinations(ctx, fixture.run, sizes);
    const many = await sample(`${sizes.destinations} destinations`, sizes.warmup + sizes.samples, sizes.grantsEach * sizes.destinations);

    const size = `${sizes.destinations} × ${sizes.grantsEach.toLocaleString('en-US')} grants`;
    const baselineLabel = `the same destination while the hub held only its ${sizes.grantsEach.toLocaleString('en-US')} Grants (the other destinations not yet created)`;
    const note =
      `one destination with a real connector is measured; the other ${sizes.destinations - 1} each have ${sizes.grantsEach} Grants and a real watch on the hub's Grants with the connector's label selector (${destinationLabel}=<destination>), ` +
      `which each delivered its ${sizes.grantsEach} Grants (${others.watched} in all); samples one after another, each a new user's Grant of view in one of ${sizes.namespaces} namespaces, ` +
      `from kubectl apply's start to the watch event on the spoke, then the Grant deleted and its revocation waited for; ${one.samples.length} and ${many.samples.length} samples after ${sizes.warmup} warm-up each; ` +
      `each sample's kubectl apply, in both phases, ${idlenessNote([...one.idleness, ...many.idleness], quiet)}`;
    const hubNote = ({ hub }: Phase) => `${hub.collections} garbage collection${hub.collections === 1 ? '' : 's'}, heap goal ${hub.heapGoalMiB.toFixed(0)} MiB`;
    const hub = ctx.controlPlane.state.clusters.hub;
    const collections = await collectionsOf(hub.pid, hub.files.log);
    const latencies = (phase: Phase) => phase.samples.map((s) => s.ms);
    const [manyMs, oneMs] = [latencies(many), latencies(one)];
    const latencyRow = (p: number): Row => ({
      scenario: title,
      metric: `Grant applied → user in RoleBinding p${p} (${size})`,
      unit: 'ms',
      ours: percentile(manyMs, p),
      baseline: percentile(oneMs, p),
      baselineLabel,
      // The two phases' samples are independent: each is redrawn on its own.
      interval: {
        ...blockBootstrap([manyMs, oneMs], ([drawnMany, drawnOne]) => percentile(drawnMany!, p) / percentile(drawnOne!, p)),
        on: 'ratio',
      },
    });
    return [
      { ...latencyRow(50), note },
      {
        ...latencyRow(99),
        target: { on: 'ratio', op: '<=', value: 1.5 },
        note:
          `(low–high) after the ratio: 90% interval, each phase's samples redrawn 1,000 times; ` +
          `the hub's API server while the samples were taken (its /metrics): with ${sizes.destinations} destinations ${hubNote(many)}, with 1 ${hubNote(one)}; ` +
          collectionsNote({ many, one, destinations: sizes.destinations }, collections),
      },
      {
        scenario: title,
        metric: `operator RSS (${size})`,
        unit: 'MiB',
        ours: many.rssMiB,
        baseline: one.rssMiB,
        baselineLabel: `the same operator with 1 destination of ${sizes.grantsEach.toLocaleString('en-US')} Grants`,
        target: { on: 'ours', op: '<', value: 512 },
        note: 'VmRSS from /proc once the operator had reconciled every Grant and its counters stood still for 2 s',
      },
    ] satisfies Row[];
  },
};

/**
 * The other destinations: each a Destination, a watch on its Grants with the connector's
 * label selector, and its Grants. Resolves once every watch
 * has delivered its destination's Grants.
 */
async function otherDestinations(ctx: BenchContext, run: string, sizes: Sizes): Promise<{ watched: number }> {
  const custom = ctx.hub.makeApiClient(CustomObjectsApi);
  const names = Array.from({ length: sizes.destinations - 1 }, (_, i) => `${run}-other-${i}`);
  const labels = { [runLabel]: run };
  const plural = { destinations: resources.Destination.plural, grants: resources.Grant.plural };
  await boundedLoad(names.length, inFlight, Infinity, (i) =>
    custom
      .createClusterCustomObject({
        group,
        version,
        plural: plural.destinations,
        body: { apiVersion: `${group}/${version}`, kind: 'Destination', metadata: { name: names[i]!, labels }, spec: { kind: 'kubernetes' } },
      })
      .then(() => undefined),
  );

  const watches = names.map((name) => {
    const labelSelector = `${destinationLabel}=${name}`;
    return new Informer<Grant>({
      kubeConfig: ctx.hub,
      logger: pino({ level: 'warn' }, pino.destination(2)),
      path: `/apis/${group}/${version}/${plural.grants}`,
      labelSelector,
      list: (page) => custom.listClusterCustomObject({ group, version, plural: plural.grants, labelSelector, ...page }) as Promise<KubernetesListObject<Grant>>,
    });
  });
  ctx.defer(() => Promise.all(watches.map((w) => w.stop())).then(() => undefined));
  await Promise.all(watches.map((w) => w.start()));
  await Promise.all(watches.map((w) => w.waitForSync()));

  // Their namespaces need not exist: nothing binds them in this spoke.
  const grants = names.flatMap((name) =>
    fixtureGrants(
      `${run}-g${names.indexOf(name)}`,
      name,
      Array.from({ length: sizes.namespaces }, (_, k) => `ns-${k}`),
      sizes.grantsEach,
    ),
  );
  const start = performance.now();
  await boundedLoad(grants.length, inFlight, Infinity, (i) =>
    custom.createClusterCustomObject({ group, version, plural: plural.grants, body: grants[i]! }).then(() => undefined),
  );
  const deadline = Date.now() + sizes.settleTimeoutMs;
  const watched = () => watches.reduce((sum, w) => sum + w.list().length, 0);
  while (watched() < grants.length) {
    if (Date.now() > deadline) throw new Error(`the watches delivered ${watched()} of ${grants.length} Grants within ${sizes.settleTimeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  ctx.log(
    `${names.length} other destinations: ${grants.length} Grants created and delivered to their watches in ${((performance.now() - start) / 1000).toFixed(1)} s`,
  );
  return { watched: watched() };
}

interface MeasureOptions {
  phase: string;
  sizes: Sizes;
  fixture: GrantFixture;
  destination: string;
  bindings: SpokeRoleBindings;
  installed: Infra;
  /** What each sample's kubectl apply waits to be idle. */
  quiet: readonly QuietGroup[];
  /** Index of the first sample, so each phase's new users and Grants have names of their own. */
  firstSample: number;
  /** Grants the operator must have reconciled (cumulative) before the phase is measured. */
  grantsInHub: number;
}

/** Waits for the operator to settle, reads its RSS, then times warm-up + samples Grant applications (bounded by sizes.seconds). */
async function measure(ctx: BenchContext, options: MeasureOptions): Promise<Phase> {
  const { phase, sizes, fixture, destination, bindings, installed, quiet } = options;
  const { operator } = installed;
  const settled = await waitSettled(operator.metricsURL, { minimum: { grant: options.grantsInHub }, timeoutMs: sizes.settleTimeoutMs, log: ctx.log });
  if (!settled.settled) ctx.log(`${phase}: the operator did NOT settle within ${sizes.settleTimeoutMs / 1000} s`);
  const { rssMiB } = await processMemory(operator.process.pid!);
  await waitForQuiet(ctx);

  const hubBefore = await hubRuntime(ctx);
  const samples: TimedSample[] = [];
  const idleness: Idleness[] = [];
  const deadline = Date.now() + sizes.seconds * 1000;
  for (let i = 0; i < sizes.warmup + sizes.samples && Date.now() < deadline; i++) {
    const k = options.firstSample + i;
    const namespace = fixture.namespaces[k % fixture.namespaces.length]!;
    const user = `scale-${k}@${fixture.run}.example.com`;
    const grant = `${fixture.run}-scale-${k}`;
    const binding = bindingId(namespace, bindingName('view', 0));
    const grantYaml = stringify({
      apiVersion: `${group}/${version}`,
      kind: 'Grant',
      metadata: { name: grant, labels: { [runLabel]: fixture.run } },
      spec: { user, role: 'view', resource: `${destination}.${namespace}` },
    });
    // As in grant-propagation.ts: what the last sample left the programs and the API servers
    // doing (its status writes' watch events, a collection) runs before the clock starts, not in kubectl's start.
    idleness.push(await waitForIdle(quiet));
    const start = wallClock();
    const ms = await bindings.timed(
      () => kubectl(ctx.hubKubeconfig, ['apply', '-f', '-'], grantYaml),
      binding,
      hasSubject(subjectId('User', user)),
      sampleTimeoutMs,
    );
    // Back to the fixture's state before the next sample.
    await bindings.timed(() => kubectl(ctx.hubKubeconfig, ['delete', 'grant', grant]), binding, lacksSubject(subjectId('User', user)), sampleTimeoutMs);
    const measured = i >= sizes.warmup;
    ctx.log(
      `${phase}: ${measured ? `sample ${i - sizes.warmup + 1}/${sizes.samples}` : `warm-up ${i + 1}/${sizes.warmup}`}: grant → binding ${ms.toFixed(0)} ms`,
    );
    if (measured) samples.push({ ms, span: { start, end: start + ms } });
  }
  if (samples.length === 0) throw new Error(`${phase}: no sample measured within ${sizes.seconds} s`);
  const hubAfter = await hubRuntime(ctx);
  const hub = { collections: hubAfter.collections - hubBefore.collections, heapGoalMiB: hubAfter.heapGoalMiB };
  ctx.log(
    `${phase}: operator RSS ${rssMiB.toFixed(0)} MiB; the hub API server collected garbage ${hub.collections} times, heap goal ${hub.heapGoalMiB.toFixed(0)} MiB`,
  );
  return { samples, rssMiB, hub, idleness };
}

/**
 * Which samples of each phase met a garbage collection of the hub's API server, and the
 * p99 of those that did not: how much of the tail the collections make (bench/README.md,
 * Session 23 and Session 41).
 */
function collectionsNote(phases: { many: Phase; one: Phase; destinations: number }, collections: readonly Collection[]): string {
  return hubCollectionsNote(collections, [
    [`with ${phases.destinations} destinations`, splitByCollections(phases.many.samples, collections)],
    ['with 1', splitByCollections(phases.one.samples, collections)],
  ]);
}
