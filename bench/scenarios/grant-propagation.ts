// Grant → binding propagation and revocation with 10,000 Grants for the destination
// already bound. A new Grant is applied with kubectl in the hub and timed until a watch
// on the spoke sees its user in the RoleBinding (the connector sees it and applies the
// binding; the operator labels it meanwhile, off that path); then it is deleted and timed
// until the user is gone (the connector alone), once every write a new Grant sets off is
// done, as for a Grant in place a while (bench/hub-grants.ts). Baseline: kubectl apply / delete of
// an equivalent RoleBinding straight in the spoke, timed the same way — the floor of one
// kubectl write and one watch event. Each kubectl starts once the operator and connector
// are idle, so that a sample does not share the cores with the previous one's trailing
// work (bench/README.md, Session 39). The programs log at debug here: their lines, with
// kubectl's own request log, give each sample's time step by step (bench/propagation-steps.ts).
import { stringify } from 'yaml';
import { bindingKey, bindingName } from '../../connector/rbac/desired.ts';
import { grantFixture, runLabel } from '../grant-fixture.ts';
import { collectionsOf, hubCollectionsNote, splitByCollections, type Collection } from '../go-collections.ts';
import { HubGrants } from '../hub-grants.ts';
import { idlenessNote, infra, infraQuiet, uniqueName, waitForIdle, waitForQuiet, waitSettled, type Idleness, type Scenario } from '../harness.ts';
import {
  directPlusBindingWrite,
  directSteps,
  kubectlWrite,
  ProgramLog,
  propagationSteps,
  revocationSteps,
  stepsTable,
  wallClock,
  type SampleEnds,
  type Steps,
} from '../propagation-steps.ts';
import {
  bindingId,
  hasExactly,
  hasSubject,
  isAbsent,
  lacksSubject,
  SpokeRoleBindings,
  subjectId,
  type BindingCheck,
  type BindingId,
} from '../spoke-bindings.ts';
import { blockBootstrap, percent, percentile, type Interval, type Row } from '../table.ts';

const title = 'Grant propagation';
const sampleTimeoutMs = 60_000;
/** On the sampled Grants alone, for a watch of them that skips the fixture's 10,000. */
const sampleLabel = 'bench.infrahq.com/sample';

/** A measured sample's ends, and the names its steps' log lines carry. */
interface MeasuredSample {
  grant: string;
  bindingKey: string;
  ours: Record<'propagation' | 'revocation', SampleEnds>;
  direct: Record<'propagation' | 'revocation', SampleEnds>;
}

interface Sizes {
  grants: number;
  namespaces: number;
  warmup: number;
  samples: number;
  /** Bound on the sampling phase. */
  seconds: number;
  /** Bound on the fixture being bound and the programs settling. */
  settleTimeoutMs: number;
}

export const grantPropagation: Scenario = {
  id: 'propagation',
  title,
  async run(ctx) {
    const sizes: Sizes = ctx.quick
      ? { grants: 200, namespaces: 20, warmup: 1, samples: 5, seconds: 60, settleTimeoutMs: 120_000 }
      : // 1,000 samples: a p99 of 30 is their slowest, and of 300 their third slowest, which three slow kubectl starts decide.
        { grants: 10_000, namespaces: 1000, warmup: 3, samples: 1000, seconds: 1200, settleTimeoutMs: 900_000 };
    const destination = uniqueName('bench-prop');
    const fixture = await grantFixture(ctx, destination, sizes);
    const started = performance.now();
    const installed = await infra(ctx, destination, { logLevel: 'debug' });
    const bindings = await SpokeRoleBindings.start(ctx.spoke);
    ctx.defer(() => bindings.stop());
    const sampledGrants = await HubGrants.start(ctx.hub, `${sampleLabel}=${fixture.run}`);
    ctx.defer(() => sampledGrants.stop());

    // A sample must not queue behind the fixture: every binding in place, both programs idle.
    await bindings.until(new Map([...fixture.expected].map(([id, subjects]) => [id, hasExactly(subjects)])), sizes.settleTimeoutMs);
    const boundS = (performance.now() - started) / 1000;
    const [operatorSettled, connectorSettled] = await Promise.all([
      waitSettled(installed.operator.metricsURL, { minimum: { grant: sizes.grants }, timeoutMs: sizes.settleTimeoutMs, log: ctx.log }),
      waitSettled(installed.connector.metricsURL, { minimum: { rbac: fixture.expected.size }, timeoutMs: sizes.settleTimeoutMs, log: ctx.log }),
    ]);
    const settledS = (performance.now() - started) / 1000;
    const unsettled = [operatorSettled.settled ? '' : 'operator', connectorSettled.settled ? '' : 'connector'].filter(Boolean);
    ctx.log(
      `${fixture.expected.size} RoleBindings in place ${boundS.toFixed(1)} s after the programs started; both idle after ${settledS.toFixed(1)} s${unsettled.length > 0 ? ` (NOT settled: ${unsettled.join(', ')})` : ''}`,
    );

    const quiet = infraQuiet(ctx, installed);
    const idleness: Idleness[] = [];
    /**
     * From kubectl's start until the watch delivers the event after which `check` holds;
     * started once the programs and the API servers are idle, as a change made by a person
     * finds them, whatever the previous sample left them doing: ours follow the hub's writes
     * of the Grant's status, the direct ones the spoke's single write.
     */
    const timed = async (kubeconfig: string, args: string[], input: string | undefined, binding: BindingId, check: BindingCheck) => {
      idleness.push(await waitForIdle(quiet));
      const startedAt = wallClock();
      let response = { at: NaN, roundTripMs: NaN };
      const ms = await bindings.timed(async () => (response = await kubectlWrite(kubeconfig, args, input)), binding, check, sampleTimeoutMs);
      return { ms, ends: { startedAt, acknowledgedAt: response.at, roundTripMs: response.roundTripMs, seenAt: startedAt + ms } satisfies SampleEnds };
    };
    const ours = { propagation: [] as number[], revocation: [] as number[] };
    const direct = { propagation: [] as number[], revocation: [] as number[] };
    const ends: MeasuredSample[] = [];
    await waitForQuiet(ctx);
    const deadline = Date.now() + sizes.seconds * 1000;
    for (let i = 0; i < sizes.warmup + sizes.samples && Date.now() < deadline; i++) {
      // Each sample adds a new user to an existing infra:view RoleBinding, in a namespace after another.
      const namespace = fixture.namespaces[i % fixture.namespaces.length]!;
      const user = `new-${i}@${fixture.run}.example.com`;
      const subject = subjectId('User', user);
      const grant = `${fixture.run}-new-${i}`;
      const viewBinding = bindingId(namespace, bindingName('view', 0));
      const directBinding = `${fixture.run}-direct-${i}`;
      const grantYaml = stringify({
        apiVersion: 'infrahq.com/v1alpha1',
        kind: 'Grant',
        metadata: { name: grant, labels: { [runLabel]: fixture.run, [sampleLabel]: fixture.run } },
        spec: { user, role: 'view', resource: `${destination}.${namespace}` },
      });
      const roleBindingYaml = stringify({
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: directBinding, namespace },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: user }],
      });
      const ourPropagation = await timed(ctx.hubKubeconfig, ['apply', '-f', '-'], grantYaml, viewBinding, hasSubject(subject));
      await sampledGrants.settled(grant, sampleTimeoutMs);
      const ourRevocation = await timed(ctx.hubKubeconfig, ['delete', 'grant', grant], undefined, viewBinding, lacksSubject(subject));
      const directPropagation = await timed(
        ctx.spokeKubeconfig,
        ['apply', '-f', '-'],
        roleBindingYaml,
        bindingId(namespace, directBinding),
        hasSubject(subject),
      );
      const directRevocation = await timed(
        ctx.spokeKubeconfig,
        ['delete', 'rolebinding', '-n', namespace, directBinding],
        undefined,
        bindingId(namespace, directBinding),
        isAbsent,
      );
      const measured = i >= sizes.warmup;
      ctx.log(
        `${measured ? `sample ${i - sizes.warmup + 1}/${sizes.samples}` : `warm-up ${i + 1}/${sizes.warmup}`}: ` +
          `grant → binding ${ourPropagation.ms.toFixed(0)} ms, revoked ${ourRevocation.ms.toFixed(0)} ms; ` +
          `direct RoleBinding ${directPropagation.ms.toFixed(0)} ms, deleted ${directRevocation.ms.toFixed(0)} ms`,
      );
      if (!measured) continue;
      ours.propagation.push(ourPropagation.ms);
      ours.revocation.push(ourRevocation.ms);
      direct.propagation.push(directPropagation.ms);
      direct.revocation.push(directRevocation.ms);
      ends.push({
        grant,
        bindingKey: bindingKey(namespace, 'view'),
        ours: { propagation: ourPropagation.ends, revocation: ourRevocation.ends },
        direct: { propagation: directPropagation.ends, revocation: directRevocation.ends },
      });
    }
    if (ours.propagation.length === 0) throw new Error(`no sample measured within ${sizes.seconds} s`);
    const steps = logSteps((message) => ctx.log(message), installed, ends);

    const n = ours.propagation.length;
    const size = `${sizes.grants.toLocaleString('en-US')} grants, ${sizes.namespaces.toLocaleString('en-US')} namespaces`;
    const note =
      `${n} samples${n < sizes.samples ? ` (of ${sizes.samples}: the ${sizes.seconds} s bound was reached)` : ''} after ${sizes.warmup} warm-up, one after another; ` +
      `from kubectl's start to the watch event on the spoke; each Grant adds a new user to an existing infra:view RoleBinding (another namespace each time); ` +
      `the operator and connector started with the Grants in place: all bound ${boundS.toFixed(0)} s later, both idle after ${settledS.toFixed(0)} s${unsettled.length > 0 ? ` (NOT settled: ${unsettled.join(', ')})` : ''}; ` +
      `every kubectl, ours and the direct write's, ${idlenessNote(idleness, quiet)}`;
    // Issue 26: p99 within 15% of one kubectl write and one watch event in the spoke.
    const target = { on: 'ratio', op: '<=', value: 1.15 } as const;
    const row = (metric: string, samples: number[], baseline: number[], p: number, baselineLabel: string, extra: Pick<Row, 'target' | 'note'>): Row => ({
      scenario: title,
      metric: `${metric} p${p} (${size})`,
      unit: 'ms',
      ours: percentile(samples, p),
      baseline: percentile(baseline, p),
      baselineLabel,
      ...extra,
      ...(extra.target ? { interval: { ...pairedRatioInterval(samples, baseline, p), on: 'ratio' } } : {}),
    });
    const intervalNote = `(low–high) after the ratio: 90% interval, the ratio over the ${n} samples redrawn 1,000 times (a sample's two measurements together)`;
    const applied = '`kubectl apply` of an equivalent RoleBinding in the spoke, until the watch sees it';
    const deleted = '`kubectl delete` of that RoleBinding, until the watch sees it gone';
    const hub = ctx.controlPlane.state.clusters.hub;
    const collections = await collectionsOf(hub.pid, hub.files.log);
    const appliedFloor = (p: number) => floorNote(direct.propagation, steps.propagation, p);
    const deletedFloor = (p: number) => floorNote(direct.revocation, steps.revocation, p);
    return [
      row('Grant applied → user in RoleBinding', ours.propagation, direct.propagation, 50, applied, { note: `${note}; ${appliedFloor(50)}` }),
      row('Grant applied → user in RoleBinding', ours.propagation, direct.propagation, 99, applied, {
        target,
        note: `${intervalNote}; ${appliedFloor(99)}; ${collectionsSplitNote(collections, ends, 'propagation')}`,
      }),
      row('Grant deleted → user gone from RoleBinding', ours.revocation, direct.revocation, 50, deleted, {
        note: `the same samples: each Grant deleted once bound, labelled, Synced and Ready (no write on it left in flight); the operator takes no part; ${deletedFloor(50)}`,
      }),
      row('Grant deleted → user gone from RoleBinding', ours.revocation, direct.revocation, 99, deleted, {
        target,
        note: `${intervalNote}; ${deletedFloor(99)}; ${collectionsSplitNote(collections, ends, 'revocation')}`,
      }),
    ];
  },
};

/**
 * A 90% interval for percentile `p` of `ours` over that of `baseline`, the samples redrawn:
 * sample i is a pair (ours and the direct write, one right after the other), drawn whole.
 */
function pairedRatioInterval(ours: readonly number[], baseline: readonly number[], p: number): Interval {
  const at = (values: readonly number[], drawn: number[]) =>
    percentile(
      drawn.map((i) => values[i]!),
      p,
    );
  return blockBootstrap([ours.map((_, i) => i)], ([drawn]) => at(ours, drawn!) / at(baseline, drawn!));
}

/**
 * Logs the step-by-step tables (bench/README.md, "Propagation, step by step"), from the
 * samples' ends and the programs' debug lines, and answers our samples' steps.
 */
function logSteps(
  log: (message: string) => void,
  installed: { connector: { logs: readonly string[] } },
  samples: readonly MeasuredSample[],
): Record<'propagation' | 'revocation', Steps[]> {
  const connector = new ProgramLog(installed.connector.logs);
  const propagation = samples.map((s) => propagationSteps({ connector, grant: s.grant, bindingKey: s.bindingKey, ends: s.ours.propagation }));
  const revocation = samples.map((s) => revocationSteps({ connector, grant: s.grant, bindingKey: s.bindingKey, ends: s.ours.revocation }));
  const tables: [string, Steps[]][] = [
    ['Grant applied → user in RoleBinding', propagation],
    ['Grant deleted → user gone', revocation],
    ['direct RoleBinding applied', samples.map((s) => directSteps(s.direct.propagation))],
    ['direct RoleBinding deleted', samples.map((s) => directSteps(s.direct.revocation))],
  ];
  for (const [title, steps] of tables) log(`step by step: ${stepsTable(title, steps)}`);
  return { propagation, revocation };
}

/**
 * Which of our samples and of the direct write's met a garbage collection of the hub's API
 * server, which shares the two cores with kubectl and the spoke (bench/README.md, Session 41).
 */
function collectionsSplitNote(collections: readonly Collection[], samples: readonly MeasuredSample[], path: 'propagation' | 'revocation'): string {
  const split = (ends: SampleEnds[]) =>
    splitByCollections(
      ends.map((e) => ({ ms: e.seenAt - e.startedAt, span: { start: e.startedAt, end: e.seenAt } })),
      collections,
    );
  return hubCollectionsNote(collections, [
    ['of the Grant', split(samples.map((s) => s.ours[path]))],
    ["of the direct write's", split(samples.map((s) => s.direct[path]))],
  ]);
}

/**
 * The row's floor in this design, from the same samples: the direct write plus the one
 * write a Grant adds to its path, the connector's binding write (bench/README.md,
 * Session 41).
 */
function floorNote(direct: readonly number[], steps: readonly Steps[], p: number): string {
  const floor = directPlusBindingWrite(direct, steps);
  if (floor.length === 0) return 'no floor: the connector logged none of its binding writes';
  const left = direct.length - floor.length;
  return (
    `the direct write plus the connector's binding write of the same sample, the one write a Grant adds (this row's floor in this design): ` +
    `p${p} ${percentile(floor, p).toFixed(1)} ms, ${percent(percentile(floor, p) / percentile(direct, p))} of the direct write's` +
    (left > 0 ? ` (${left} samples without the write's log line left out)` : '')
  );
}
