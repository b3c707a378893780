import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { collectProcessMetrics } from './process-metrics.ts';

describe('collectProcessMetrics', () => {
  it("serves the process's CPU, memory, heap, GC and event-loop lag in the registry it is given", async () => {
    const registry = new Registry();
    collectProcessMetrics(registry);
    const names = (await registry.getMetricsAsJSON()).map((m) => m.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'process_cpu_seconds_total',
        'process_resident_memory_bytes',
        'nodejs_heap_space_size_used_bytes',
        'nodejs_gc_duration_seconds',
        'nodejs_eventloop_lag_p99_seconds',
      ]),
    );
    registry.clear();
  });
});
