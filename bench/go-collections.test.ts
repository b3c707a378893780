import { expect, it } from 'vitest';
import { collectionsFromTrace, hubCollectionsNote, metCollection, processStartMs, splitByCollections } from './go-collections.ts';

it('places each gctrace line on the wall clock, from its start and its phases, and skips other lines', () => {
  const log = [
    'I1207 13:00:00.000000   1234 server.go:150] Version: v1.36.3',
    'gc 1 @0.012s 2%: 0.011+1.2+0.003 ms clock, 0.022+0.3/0.9/0+0.006 ms cpu, 4->4->0 MB, 4 MB goal, 0 MB stacks, 0 MB globals, 2 P',
    'gc 57 @34.5s 3%: 0.1+300+0.9 ms clock, 0.2+10/290/0+1.8 ms cpu, 700->710->350 MB, 720 MB goal, 1 MB stacks, 0 MB globals, 2 P (forced)',
    'scvg: 0 MB released',
  ].join('\n');
  expect(collectionsFromTrace(log, 1_000_000)).toEqual([
    { start: 1_000_012, end: expect.closeTo(1_000_013.214, 6) },
    { start: 1_034_500, end: expect.closeTo(1_034_801, 6) },
  ]);
  expect(collectionsFromTrace('no collections here', 0)).toEqual([]);
});

it("keeps only the last run's lines of a log that a relaunched process appended to", () => {
  const log = [
    'gc 1 @0.010s 1%: 0+1+0 ms clock, 0+0/0/0+0 ms cpu, 4->4->0 MB, 4 MB goal, 0 MB stacks, 0 MB globals, 2 P',
    'gc 2 @900.000s 1%: 0+50+0 ms clock, 0+0/0/0+0 ms cpu, 400->410->200 MB, 420 MB goal, 0 MB stacks, 0 MB globals, 2 P',
    'I1207 14:00:00.000000   4321 server.go:150] Version: v1.36.3',
    'gc 1 @0.020s 1%: 0+2+0 ms clock, 0+0/0/0+0 ms cpu, 4->4->0 MB, 4 MB goal, 0 MB stacks, 0 MB globals, 2 P',
    'gc 2 @5.000s 1%: 0+3+0 ms clock, 0+0/0/0+0 ms cpu, 8->8->4 MB, 8 MB goal, 0 MB stacks, 0 MB globals, 2 P',
  ].join('\n');
  expect(collectionsFromTrace(log, 0)).toEqual([
    { start: 20, end: 22 },
    { start: 5000, end: 5003 },
  ]);
});

it('tells a span that overlaps a collection from one that only touches it', () => {
  const collections = [{ start: 100, end: 200 }];
  expect(metCollection({ start: 150, end: 160 }, collections)).toBe(true);
  expect(metCollection({ start: 50, end: 101 }, collections)).toBe(true);
  expect(metCollection({ start: 199, end: 300 }, collections)).toBe(true);
  expect(metCollection({ start: 0, end: 100 }, collections)).toBe(false);
  expect(metCollection({ start: 200, end: 250 }, collections)).toBe(false);
  expect(metCollection({ start: 150, end: 160 }, [])).toBe(false);
});

it("finds this process's start on the wall clock within a few clock ticks", async () => {
  const expected = Date.now() - process.uptime() * 1000;
  expect(Math.abs((await processStartMs(process.pid)) - expected)).toBeLessThan(100);
});

it('splits samples by whether each met a collection, keeping the latencies of those that did not', () => {
  const collections = [{ start: 1000, end: 1300 }];
  const samples = [
    { ms: 80, span: { start: 900, end: 980 } },
    { ms: 200, span: { start: 1100, end: 1300 } },
    { ms: 90, span: { start: 1400, end: 1490 } },
  ];
  expect(splitByCollections(samples, collections)).toEqual({ met: 1, of: 3, others: [80, 90] });
  expect(splitByCollections(samples, [])).toEqual({ met: 0, of: 3, others: [80, 200, 90] });
});

it('says how many samples met a collection and compares the p99 of the others', () => {
  const ours = { met: 2, of: 4, others: [100, 120] };
  const baseline = { met: 1, of: 4, others: [100, 100, 100] };
  const note = hubCollectionsNote(
    [{ start: 0, end: 1 }],
    [
      ['of ours', ours],
      ["of the baseline's", baseline],
    ],
  );
  expect(note).toContain("2 of 4 samples of ours and 1 of 4 of the baseline's met a garbage collection");
  expect(note).toContain("the others' p99 120 ms against 100 ms, 120%");
  expect(
    hubCollectionsNote(
      [{ start: 0, end: 1 }],
      [
        ['a', { met: 0, of: 2, others: [1, 2] }],
        ['b', { met: 0, of: 2, others: [1, 2] }],
      ],
    ),
  ).not.toContain('p99');
  expect(
    hubCollectionsNote(
      [],
      [
        ['a', ours],
        ['b', baseline],
      ],
    ),
  ).toMatch(/^no gctrace line/);
});
