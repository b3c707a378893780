// Statistics over samples, the result rows every scenario returns, and the one table the
// bench prints (text for the terminal, Markdown and JSON for bench/results/).
import { cpus, totalmem, type as osType, release } from 'node:os';

/** What a row's target constrains: our figure itself, or our figure divided by the baseline. */
export interface Target {
  on: 'ours' | 'ratio';
  op: '>=' | '<=' | '<' | '>';
  value: number;
}

export interface Row {
  /** The scenario's title, e.g. "Token issuance (public door)". */
  scenario: string;
  /** What this row measures, e.g. "throughput" or "RSS after settle". */
  metric: string;
  unit: string;
  ours: number;
  baseline?: number;
  /** What the baseline is, in a few words (shown under the table). */
  baselineLabel?: string;
  target?: Target;
  /**
   * How precisely this run pinned `ours` (or, with `on: 'ratio'`, the ratio) down, where
   * the machine's noise is of the order of the target: a bootstrap confidence interval
   * (blockBootstrap). The verdict then holds only if it holds over the whole interval.
   */
  interval?: Interval;
  /** Sizes, repetitions, anything a reader needs to trust the figure. */
  note?: string;
}

export interface Interval {
  low: number;
  high: number;
  /** e.g. 0.9 for a 90% interval. */
  confidence: number;
  /** Which figure the interval is for: our figure (the default) or ours ÷ the baseline. */
  on?: 'ours' | 'ratio';
}

const intervalOn = (interval: Interval) => interval.on ?? 'ours';

/** `undecided`: the target holds at one end of the row's interval and not at the other, so this run cannot tell. */
export type Verdict = 'pass' | 'miss' | 'undecided' | '—';

export interface ResultRow extends Row {
  ratio?: number;
  verdict: Verdict;
}

export interface ScenarioError {
  scenario: string;
  error: string;
}

export interface Results {
  date: string;
  mode: 'full' | 'quick';
  durationSec: number;
  machine: { description: string; cpus: number; cpuModel: string; memoryGiB: number; os: string; node: string };
  kubernetesVersion: string;
  /** Share of the machine's CPU busy in the second before the bench started (other work). */
  backgroundBusy: number;
  rows: ResultRow[];
  errors: ScenarioError[];
  /** Scenarios whose rows come from later `--only … --merge` runs, not from the run described above. */
  merged?: MergedRun[];
}

export interface MergedRun {
  /** Scenario titles. */
  scenarios: string[];
  date: string;
  durationSec: number;
  backgroundBusy: number;
}

// ---- statistics -------------------------------------------------------------------

export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = Float64Array.from(samples).sort(); // a typed array sorts numerically, and fast
  // Nearest rank: the smallest sample with at least p% of samples at or below it.
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export const median = (samples: readonly number[]): number => percentile(samples, 50);

export function mean(samples: readonly number[]): number {
  return samples.reduce((sum, x) => sum + x, 0) / samples.length;
}

/** A seeded generator of numbers in [0, 1) (mulberry32): the same samples give the same interval. */
function seededRandom(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), seed | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/**
 * A confidence interval for `statistic` by the block bootstrap: each repetition's blocks
 * (e.g. the requests of one second) are drawn with replacement, as many as it has, and the
 * statistic is computed over the redrawn repetitions; the interval spans the middle
 * `confidence` of those values. Drawing whole blocks keeps the requests a slow moment of
 * the machine delayed together, so a stall counts as one event, not as many independent ones.
 */
export function blockBootstrap<Block>(
  repetitions: readonly (readonly Block[])[],
  statistic: (repetitions: Block[][]) => number,
  confidence = 0.9,
  resamples = 1000,
): Interval {
  const random = seededRandom(1);
  const values: number[] = [];
  for (let r = 0; r < resamples; r++) {
    values.push(statistic(repetitions.map((blocks) => blocks.map(() => blocks[Math.floor(random() * blocks.length)]!))));
  }
  const tail = ((1 - confidence) / 2) * 100;
  return { low: percentile(values, tail), high: percentile(values, 100 - tail), confidence };
}

// ---- verdicts -----------------------------------------------------------------------

export function evaluate(row: Row): ResultRow {
  const ratio = row.baseline !== undefined && row.baseline !== 0 ? row.ours / row.baseline : undefined;
  if (!row.target) return { ...row, ...(ratio !== undefined ? { ratio } : {}), verdict: '—' };
  const value = row.target.on === 'ours' ? row.ours : ratio;
  let verdict: Verdict = 'miss';
  if (value !== undefined && Number.isFinite(value)) {
    const { op, value: bound } = row.target;
    const meets = (x: number) => (op === '>=' ? x >= bound : op === '<=' ? x <= bound : op === '<' ? x < bound : x > bound);
    // With an interval, the ends decide: a point estimate alone would pass or miss on noise.
    const ends = row.interval && intervalOn(row.interval) === row.target.on ? [row.interval.low, row.interval.high] : [value];
    const met = ends.filter(meets).length;
    verdict = met === ends.length ? 'pass' : met === 0 ? 'miss' : 'undecided';
  }
  return { ...row, ...(ratio !== undefined ? { ratio } : {}), verdict };
}

// ---- formatting -----------------------------------------------------------------------

/** A fraction as a whole percentage: 0.054 → "5%". */
export function percent(fraction: number): string {
  return `${(fraction * 100).toFixed(0)}%`;
}

export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  if (abs >= 100) return Math.round(value).toLocaleString('en-US');
  if (abs >= 10) return value.toFixed(1);
  if (abs >= 1) return value.toFixed(2);
  return value.toPrecision(2);
}

const withUnit = (value: number, unit: string) => `${formatNumber(value)} ${unit}`.trim();

/** Our figure, and after it the interval it may lie in: `2.07 ms (1.59–3.06)`. */
function formatOurs(row: Row): string {
  const ours = withUnit(row.ours, row.unit);
  return row.interval && intervalOn(row.interval) === 'ours' ? `${ours} (${formatNumber(row.interval.low)}–${formatNumber(row.interval.high)})` : ours;
}

function formatRatio(ratio: number | undefined): string {
  if (ratio === undefined) return '—';
  return ratio >= 0.1 && ratio < 2 ? percent(ratio) : `${formatNumber(ratio)}×`;
}

/** The ratio, and after it the interval it may lie in when the row has one for the ratio: `104% (98%–109%)`. */
function formatRowRatio(row: ResultRow): string {
  const ratio = formatRatio(row.ratio);
  return row.interval && intervalOn(row.interval) === 'ratio' ? `${ratio} (${formatRatio(row.interval.low)}–${formatRatio(row.interval.high)})` : ratio;
}

function formatTarget(row: Row): string {
  if (!row.target) return '—';
  const { on, op, value } = row.target;
  const op2 = op === '>=' ? '≥' : op === '<=' ? '≤' : op;
  return on === 'ratio' ? `ratio ${op2} ${formatRatio(value)}` : `${op2} ${withUnit(value, row.unit)}`;
}

const headers = ['scenario', 'metric', 'ours', 'baseline', 'ratio', 'target', 'result'] as const;

function cells(row: ResultRow): string[] {
  return [
    row.scenario,
    row.metric,
    formatOurs(row),
    row.baseline === undefined ? '—' : withUnit(row.baseline, row.unit),
    formatRowRatio(row),
    formatTarget(row),
    row.verdict === 'miss' ? 'MISS' : row.verdict === 'undecided' ? 'UNDECIDED' : row.verdict,
  ];
}

function errorCells(error: ScenarioError): string[] {
  return [error.scenario, 'crashed', '—', '—', '—', '—', 'ERROR'];
}

/** A fixed-width table for the terminal. */
export function textTable(results: Results): string {
  const body = [...results.rows.map(cells), ...results.errors.map(errorCells)];
  const widths = headers.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (r: readonly string[]) =>
    r
      .map((c, i) => (i >= 2 && i <= 4 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line), '', ...footnotes(results)].join('\n');
}

export function markdownTable(results: Results): string {
  const escape = (c: string) => c.replace(/\|/g, '\\|');
  const body = [...results.rows.map(cells), ...results.errors.map(errorCells)];
  return [
    `| ${headers.join(' | ')} |`,
    `|${headers.map((_, i) => (i >= 2 && i <= 4 ? '---:' : '---')).join('|')}|`,
    ...body.map((r) => `| ${r.map(escape).join(' | ')} |`),
  ].join('\n');
}

/** Per scenario: what each baseline is, and the notes that qualify a figure. */
function footnotes(results: Results): string[] {
  const lines: string[] = [];
  const scenarios = [...new Set(results.rows.map((r) => r.scenario))];
  for (const scenario of scenarios) {
    const rows = results.rows.filter((r) => r.scenario === scenario);
    lines.push(`${scenario}:`);
    const baselines = new Map<string, string[]>();
    for (const row of rows) if (row.baselineLabel) baselines.set(row.baselineLabel, [...(baselines.get(row.baselineLabel) ?? []), row.metric]);
    for (const [label, metrics] of baselines) lines.push(`  baseline${baselines.size > 1 ? ` (${metrics.join(', ')})` : ''}: ${label}`);
    for (const row of rows) if (row.note) lines.push(`  ${row.metric}: ${row.note}`);
  }
  for (const error of results.errors) lines.push(`${error.scenario} CRASHED: ${error.error.split('\n')[0]}`);
  return lines;
}

/** When, where, how long, and how busy the machine was before we started; and which rows came from later runs. */
export function header(results: Results): string {
  const merged = (results.merged ?? []).map(
    (m) =>
      `; rows of ${m.scenarios.join(', ')} from a later run (--only), ${m.date}, ${m.durationSec.toFixed(0)} s, machine ${percent(m.backgroundBusy)} busy before its start`,
  );
  return (
    `${results.mode} run, ${results.date}, ${results.machine.description}; Kubernetes ${results.kubernetesVersion}; ` +
    `${results.durationSec.toFixed(0)} s; machine ${percent(results.backgroundBusy)} busy before the start${merged.join('')}`
  );
}

/**
 * `full` with the rows (and crashes) of the scenarios `partial` ran replaced by the
 * partial run's, in `order` (scenario titles); the header then names where they came from.
 */
export function mergeResults(full: Results, partial: Results, order: readonly string[]): Results {
  const replaced = new Set([...partial.rows, ...partial.errors].map((r) => r.scenario));
  const source = (title: string) => (replaced.has(title) ? partial : full);
  const rows = order.flatMap((title) => source(title).rows.filter((r) => r.scenario === title));
  const errors = order.flatMap((title) => source(title).errors.filter((e) => e.scenario === title));
  const earlier = (full.merged ?? []).map((m) => ({ ...m, scenarios: m.scenarios.filter((t) => !replaced.has(t)) })).filter((m) => m.scenarios.length > 0);
  const run: MergedRun = {
    scenarios: order.filter((t) => replaced.has(t)),
    date: partial.date,
    durationSec: partial.durationSec,
    backgroundBusy: partial.backgroundBusy,
  };
  return { ...full, rows, errors, merged: [...earlier, run] };
}

export function markdownReport(results: Results): string {
  return [
    `# Bench results (${results.mode})`,
    '',
    `${header(results)}.`,
    '',
    markdownTable(results),
    '',
    ...footnotes(results).map((l) => (l.startsWith('  ') ? `  - ${l.trim()}` : `- ${l}`)),
    '',
  ].join('\n');
}

export function machine(): Results['machine'] {
  const list = cpus();
  const cpuModel = list[0]?.model.trim() ?? 'unknown CPU';
  const memoryGiB = Math.round(totalmem() / 2 ** 30);
  const os = `${osType()} ${release()}`;
  return {
    description: `${list.length} cores (${cpuModel}), ${memoryGiB} GiB RAM, ${os}, Node ${process.versions.node}`,
    cpus: list.length,
    cpuModel,
    memoryGiB,
    os,
    node: process.versions.node,
  };
}
