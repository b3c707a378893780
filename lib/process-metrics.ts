// The process metrics every Infra program serves at /metrics: prom-client's defaults (CPU,
// resident memory, V8 heap spaces, garbage collection, event-loop lag, open handles).
//
// prom-client samples the event loop's lag with a timer, every 10 ms unless told
// otherwise. That timer woke an idle connector 100 times a second and was most of its CPU
// at rest (3.7 of its ~5.7 ms per second, bench/README.md). Every 100 ms the lag is still
// measured to the nanosecond, ten times a second: a stall long enough to matter is seen.
import { collectDefaultMetrics, type Registry } from 'prom-client';

/** How often the event loop's lag is sampled (ms). */
export const eventLoopLagSamplingMs = 100;

export function collectProcessMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: eventLoopLagSamplingMs });
}
