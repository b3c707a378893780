// Where a Grant's way to a spoke binding spends its time, step by step, read from
// timestamps the run already has: kubectl's own request log (-v=6) for when the API server
// acknowledged the write, the connector's debug lines for each step inside it, and the
// bench's spoke watch for the end. The connector's lines carry an ISO `time` to the
// millisecond; kubectl's carry microseconds.
import { execFile } from 'node:child_process';
import { percentile } from './table.ts';

/** One sample's ends, in ms since the epoch. */
export interface SampleEnds {
  /** kubectl started. */
  startedAt: number;
  /** The API server acknowledged kubectl's write (its response logged by kubectl). */
  acknowledgedAt: number;
  /** That write's round trip as kubectl timed it (whole ms): from sending it to its response. */
  roundTripMs: number;
  /** The bench's watch on the spoke saw the binding as the check wants it. */
  seenAt: number;
}

/** The wall clock in ms with a fraction, comparable across processes on this machine. */
export const wallClock = () => performance.timeOrigin + performance.now();

// I1203 16:37:46.269440   21816 round_trippers.go:560] POST https://… 201 Created in 12 milliseconds
const responseLine =
  /^[IWE](\d\d)(\d\d) (\d\d):(\d\d):(\d\d)\.(\d{6})\s+\d+ round_trippers\.go:\d+\] (?:POST|PATCH|PUT|DELETE) \S+ \d{3}.* in (\d+) milliseconds$/;

/** The write kubectl made last, from its request log (-v=6): when its response came, and its round trip. */
export interface WriteResponse {
  /** ms since the epoch. klog writes local time without a year: this machine's year and zone. */
  at: number;
  roundTripMs: number;
}

/** Undefined when kubectl logged no write response (a format that changed, or no write made). */
export function lastWriteResponse(stderr: string, year = new Date().getFullYear()): WriteResponse | undefined {
  const last = stderr
    .split('\n')
    .flatMap((line) => {
      const m = responseLine.exec(line);
      return m ? [m] : [];
    })
    .at(-1);
  if (!last) return undefined;
  const [month, day, hours, minutes, seconds, micros, roundTripMs] = last.slice(1, 8).map(Number) as [number, number, number, number, number, number, number];
  return { at: new Date(year, month - 1, day, hours, minutes, seconds).getTime() + micros / 1000, roundTripMs };
}

/** Runs kubectl with its request log on and answers when the API server acknowledged its last write, and that write's round trip. */
export function kubectlWrite(kubeconfig: string, args: string[], input?: string): Promise<WriteResponse> {
  return new Promise((resolve, reject) => {
    const child = execFile('kubectl', ['--kubeconfig', kubeconfig, '-v=6', ...args], { maxBuffer: 16 << 20 }, (error, _stdout, stderr) => {
      if (error) return reject(new Error(`kubectl ${args.join(' ')} failed: ${stderr.trim() || error.message}`));
      const response = lastWriteResponse(stderr);
      if (!response)
        return reject(new Error(`kubectl ${args.join(' ')} logged no write response at -v=6; its log format changed? stderr: ${stderr.slice(0, 500)}`));
      resolve(response);
    });
    child.stdin!.end(input ?? '');
  });
}

interface LogLine {
  time: number;
  msg: string;
  key?: string;
  event?: string;
  grant?: string;
  controller?: string;
  informer?: string;
}

/** A program's JSON log lines, the debug lines this analysis reads, in order. */
export class ProgramLog {
  readonly #lines: LogLine[];

  constructor(lines: readonly string[]) {
    this.#lines = lines.flatMap((line) => {
      if (!line.startsWith('{')) return [];
      try {
        const parsed = JSON.parse(line) as Omit<LogLine, 'time'> & { time: string };
        return [{ ...parsed, time: Date.parse(parsed.time) }];
      } catch {
        return [];
      }
    });
  }

  /**
   * The time of the first line from `after` on (ms; a line's time is truncated to the ms,
   * so a line of the same ms counts) that matches. Undefined when there is none.
   */
  first(after: number, match: (line: LogLine) => boolean): number | undefined {
    return this.#lines.find((l) => l.time >= Math.floor(after) && match(l))?.time;
  }
}

const grantsInformer = (l: LogLine) => l.informer?.endsWith('/grants') === true;

/** The one API write a Grant adds to the direct write's path. */
export const bindingWriteStep = 'connector: binding write sent → acknowledged by the spoke';

export interface StepsInput {
  connector: ProgramLog;
  grant: string;
  /** The connector's binding key, namespace/role. */
  bindingKey: string;
  ends: SampleEnds;
}

/** Step name → ms; a step whose line is missing is left out, and so are the steps after it. */
export type Steps = Map<string, number>;

function chain(start: number, links: [string, (after: number) => number | undefined][], end: [string, number]): Steps {
  const steps: Steps = new Map();
  let at = start;
  for (const [name, next] of links) {
    const t = next(at);
    if (t === undefined) return steps;
    steps.set(name, t - at);
    at = t;
  }
  steps.set(end[0], end[1] - at);
  return steps;
}

/**
 * The connector's part, the same for a new Grant and a deleted one. A line about the
 * Grant (its name is the sample's own) is looked for from the sample's start: a program
 * can see a change before the writer has logged its acknowledgement, so such a step can be
 * slightly negative. A line about the binding is looked for after the previous step.
 */
function connectorLinks(connector: ProgramLog, grant: string, bindingKey: string, event: 'add' | 'delete', since: number) {
  const rbac = (msg: string) => (after: number) =>
    connector.first(after, (l) => l.msg === msg && l.key === bindingKey && (l.controller === 'rbac' || l.controller === undefined));
  return [
    [
      'Grant event arrives at the connector',
      () => connector.first(since, (l) => l.msg === 'watch event' && grantsInformer(l) && l.key === grant && l.event === event),
    ],
    ['connector: event → dequeued (queue)', rbac('reconcile started')],
    ['connector: dequeued → desired binding computed', rbac('binding planned')],
    ['connector: computed → binding write sent', rbac('binding write sent')],
    [bindingWriteStep, rbac('binding written')],
  ] as [string, (after: number) => number | undefined][];
}

export const seenStep = 'last write acknowledged → bench watch sees it';

/**
 * Each sample's floor in this design: the direct write's time plus the connector's binding
 * write in the same sample, the write that must follow the Grant's event. A sample whose
 * connector logged no such write is left out.
 */
export function directPlusBindingWrite(direct: readonly number[], steps: readonly Steps[]): number[] {
  return steps.flatMap((s, i) => {
    const write = s.get(bindingWriteStep);
    return write === undefined ? [] : [direct[i]! + write];
  });
}

/**
 * kubectl's part: its own start (loading its config and discovery cache, and for `apply`
 * reading the object first), then the write's round trip to the API server as kubectl
 * timed it. The two add up to kubectl's start → the write acknowledged.
 */
function kubectlSteps(ends: SampleEnds): [string, number][] {
  return [
    ['kubectl start → write sent', ends.acknowledgedAt - ends.startedAt - ends.roundTripMs],
    ['kubectl: write sent → acknowledged (its round trip to the API server)', ends.roundTripMs],
  ];
}

/**
 * A new Grant's way: the connector binds it from its first watch event, not waiting for the
 * operator's label (docs/adr/0028-grants-bound-before-labelled.md), so the operator's steps
 * are off this path and not in it.
 */
export function propagationSteps({ connector, grant, bindingKey, ends }: StepsInput): Steps {
  const steps = chain(ends.acknowledgedAt, connectorLinks(connector, grant, bindingKey, 'add', ends.startedAt), [seenStep, ends.seenAt]);
  return new Map([...kubectlSteps(ends), ...steps]);
}

export function revocationSteps({ connector, grant, bindingKey, ends }: StepsInput): Steps {
  const steps = chain(ends.acknowledgedAt, connectorLinks(connector, grant, bindingKey, 'delete', ends.startedAt), [seenStep, ends.seenAt]);
  return new Map([...kubectlSteps(ends), ...steps]);
}

export function directSteps(ends: SampleEnds): Steps {
  return new Map([...kubectlSteps(ends), [seenStep, ends.seenAt - ends.acknowledgedAt]]);
}

/** A markdown table: each step's p50 and p99 over the samples, in the order the steps happen. */
export function stepsTable(title: string, samples: readonly Steps[]): string {
  const names = [...new Set(samples.flatMap((s) => [...s.keys()]))];
  const totals = samples.map((s) => [...s.values()].reduce((a, b) => a + b, 0));
  const ms = (v: number) => `${v.toFixed(1)} ms`;
  const rows = names.map((name) => {
    const values = samples.flatMap((s) => (s.has(name) ? [s.get(name)!] : []));
    const missing = samples.length - values.length;
    return `| ${name} | ${ms(percentile(values, 50))} | ${ms(percentile(values, 99))} | ${missing > 0 ? `${missing} without this step's log line` : ''} |`;
  });
  return [
    `${title} (${samples.length} samples)`,
    '',
    '| step | p50 | p99 | |',
    '|---|---|---|---|',
    ...rows,
    `| total | ${ms(percentile(totals, 50))} | ${ms(percentile(totals, 99))} | |`,
  ].join('\n');
}
