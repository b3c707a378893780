import { describe, expect, it } from 'vitest';
import { classifySymbol, parsePerfReport } from './perf-sample.ts';

describe('classifySymbol', () => {
  it('tells compilation from garbage collection by V8 namespace and class', () => {
    expect(classifySymbol('v8::internal::compiler::GraphReducer::ReduceTop')).toBe('compile');
    expect(classifySymbol('v8::internal::compiler::turboshaft::Operation::Effects')).toBe('compile');
    expect(classifySymbol('v8::internal::maglev::MaglevGraphBuilder::VisitLdaNamedProperty')).toBe('compile');
    expect(classifySymbol('v8::internal::ConcurrentMarking::RunMajor')).toBe('gc');
    expect(classifySymbol('v8::internal::Scavenger::ScavengeObject<v8::internal::FullHeapObjectSlot>')).toBe('gc');
    expect(classifySymbol('v8::internal::Sweeper::RawSweep')).toBe('gc');
    expect(classifySymbol('v8::internal::ArrayBufferSweeper::SweepingState::SweepingJob::SweepYoung')).toBe('gc');
    expect(classifySymbol('v8::internal::GlobalBackingStoreRegistry::Unregister')).toBe('gc');
  });

  it('leaves the kernel, the C library and anything unnamed as other', () => {
    expect(classifySymbol('finish_task_switch.isra.0')).toBe('other');
    expect(classifySymbol('_int_malloc')).toBe('other');
    expect(classifySymbol('0x00007f3a2b1c4d5e')).toBe('other');
  });
});

describe('parsePerfReport', () => {
  it('sums the shares of perf report --sort sym by activity', () => {
    const report = [
      '# Samples: 1K of event cpu-clock',
      '#',
      '     5.50%  [.] v8::internal::ConcurrentMarking::RunMajor',
      '     4.32%  [k] finish_task_switch.isra.0',
      '     2.82%  [.] v8::internal::compiler::GraphReducer::ReduceTop',
      '     1.18%  [.] v8::internal::Scavenger::ScavengeObject<v8::internal::FullHeapObjectSlot>',
      '',
    ].join('\n');
    const shares = parsePerfReport(report);
    expect(shares.gc).toBeCloseTo(0.0668, 4);
    expect(shares.compile).toBeCloseTo(0.0282, 4);
    expect(shares.other).toBeCloseTo(0.0432, 4);
  });

  it('is all zero for a report with no samples', () => {
    expect(parsePerfReport('# no samples\n')).toEqual({ compile: 0, gc: 0, other: 0 });
  });
});
