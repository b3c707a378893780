import { describe, expect, it } from 'vitest';
import { blockBootstrap, evaluate, mean, percent, textTable, type ResultRow, type Results, type Row } from './table.ts';

const latency: Row = { scenario: 'Proxy', metric: 'added p99', unit: 'ms', ours: 1.9, target: { on: 'ours', op: '<=', value: 2 } };

describe('evaluate', () => {
  it('judges the point figure when the row has no interval', () => {
    expect(evaluate(latency).verdict).toBe('pass');
    expect(evaluate({ ...latency, ours: 2.1 }).verdict).toBe('miss');
  });

  it('with an interval, passes or misses only when the whole interval does, and is undecided when it straddles the target', () => {
    const within = (low: number, high: number) => evaluate({ ...latency, interval: { low, high, confidence: 0.9 } }).verdict;
    expect(within(1.2, 1.95)).toBe('pass');
    expect(within(2.05, 3)).toBe('miss');
    expect(within(1.5, 2.6)).toBe('undecided');
    expect(evaluate({ ...latency, ours: 2.3, interval: { low: 1.5, high: 2.6, confidence: 0.9 } }).verdict).toBe('undecided');
  });

  it('leaves a ratio target to the ratio, whatever the interval of our figure', () => {
    const row: Row = { ...latency, ours: 90, baseline: 100, target: { on: 'ratio', op: '>=', value: 0.8 }, interval: { low: 10, high: 200, confidence: 0.9 } };
    expect(evaluate(row)).toMatchObject({ ratio: 0.9, verdict: 'pass' });
  });

  it('with an interval on the ratio, judges a ratio target by the ends of that interval', () => {
    const cpu: Row = { scenario: 'Proxy', metric: 'CPU per request', unit: 'ms', ours: 0.36, baseline: 0.35, target: { on: 'ratio', op: '<=', value: 1.1 } };
    const within = (low: number, high: number) => evaluate({ ...cpu, interval: { low, high, confidence: 0.9, on: 'ratio' } }).verdict;
    expect(within(0.98, 1.08)).toBe('pass');
    expect(within(1.12, 1.2)).toBe('miss');
    expect(within(1.02, 1.15)).toBe('undecided');
  });
});

describe('textTable', () => {
  const results = (rows: ResultRow[]): Results => ({
    date: '2026-12-01',
    mode: 'full',
    durationSec: 1,
    machine: { description: 'test', cpus: 2, cpuModel: 'x', memoryGiB: 1, os: 'linux', node: '24' },
    kubernetesVersion: 'v1.36.3',
    backgroundBusy: 0,
    rows,
    errors: [],
  });

  it('prints the interval after our figure and says UNDECIDED plainly', () => {
    const row = textTable(results([evaluate({ ...latency, ours: 2.07, interval: { low: 1.59, high: 3.06, confidence: 0.9 } })])).split('\n')[2]!;
    expect(row).toContain('2.07 ms (1.59–3.06)');
    expect(row).toMatch(/UNDECIDED$/);
  });

  it('prints an interval on the ratio after the ratio, not after our figure', () => {
    const cpu = evaluate({
      scenario: 'Proxy',
      metric: 'CPU per request',
      unit: 'ms',
      ours: 0.36,
      baseline: 0.35,
      target: { on: 'ratio', op: '<=', value: 1.1 },
      interval: { low: 0.98, high: 1.08, confidence: 0.9, on: 'ratio' },
    });
    const row = textTable(results([cpu])).split('\n')[2]!;
    expect(row).toMatch(/0\.36 ms\s+0\.35 ms\s+103% \(98%–108%\)/);
    expect(row).toMatch(/pass$/);
  });
});

describe('blockBootstrap', () => {
  // Blocks of 10 samples around 100; one repetition.
  const noisy = (blocks: number, seed: number) => {
    let x = seed;
    const next = () => ((x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 20 + 90;
    return Array.from({ length: blocks }, () => Array.from({ length: 10 }, next));
  };
  const meanOf = (reps: number[][][]) => mean(reps.flat(2));

  it('brackets the statistic, and narrows as the samples grow', () => {
    const few = blockBootstrap([noisy(10, 7)], meanOf);
    const many = blockBootstrap([noisy(1000, 7)], meanOf);
    for (const interval of [few, many]) {
      expect(interval.low).toBeLessThan(100.5);
      expect(interval.high).toBeGreaterThan(99.5);
      expect(interval.confidence).toBe(0.9);
    }
    expect(many.high - many.low).toBeLessThan((few.high - few.low) / 3);
  });

  it('gives the same interval for the same samples', () => {
    const samples = [noisy(50, 3), noisy(50, 4)];
    expect(blockBootstrap(samples, meanOf)).toEqual(blockBootstrap(samples, meanOf));
  });

  it('draws whole blocks, as many as each repetition has', () => {
    const reps = [Array.from({ length: 5 }, (_, i) => [i, i, i]), Array.from({ length: 3 }, (_, i) => [10 + i, 10 + i, 10 + i])];
    blockBootstrap(
      reps,
      (redrawn) => {
        expect(redrawn.map((blocks) => blocks.length)).toEqual([5, 3]);
        for (const [r, blocks] of redrawn.entries()) for (const block of blocks) expect(reps[r]).toContainEqual(block);
        return 0;
      },
      0.9,
      20,
    );
  });
});

describe('percent', () => {
  it('writes a fraction as a whole percentage', () => {
    expect(percent(0.054)).toBe('5%');
    expect(percent(1.225)).toBe('123%');
    expect(percent(0)).toBe('0%');
  });
});
