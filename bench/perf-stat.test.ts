import { describe, expect, it } from 'vitest';
import { parsePerfInstructions } from './perf-stat.ts';

describe('parsePerfInstructions', () => {
  it('reads the count from perf stat -x, output', () => {
    expect(parsePerfInstructions('1234567,,instructions,2000000,100.00,1.10,insn per cycle\n')).toBe(1234567);
    expect(parsePerfInstructions('42,,instructions:u,10,100.00,,\n')).toBe(42);
  });

  it('says why when the machine has no counter to read', () => {
    expect(parsePerfInstructions('<not supported>,,instructions,0,100.00,,\n')).toBe('perf stat cannot count instructions on this machine: <not supported>');
    expect(parsePerfInstructions('Error:\nNo permission to enable instructions event.\n')).toBe(
      'perf stat printed no instructions count: No permission to enable instructions event.',
    );
  });
});
