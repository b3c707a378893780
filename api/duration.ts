// Durations as people write them in config, flags and API fields: "90s", "5m", "1h30m", "7d".
import { z } from 'zod';

const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const pattern = /^(?:\d+(?:ms|s|m|h|d))+$/;

/** Milliseconds in a duration string, or undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  if (!pattern.test(text)) return undefined;
  let total = 0;
  for (const [, amount, unit] of text.matchAll(/(\d+)(ms|s|m|h|d)/g)) total += Number(amount) * units[unit!]!;
  return total;
}

export function formatDuration(ms: number): string {
  for (const [unit, size] of [
    ['d', units.d!],
    ['h', units.h!],
    ['m', units.m!],
    ['s', units.s!],
  ] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/** A duration setting ("5m", "24h") validated into milliseconds. */
export const duration = z.string().transform((text, ctx) => {
  const ms = parseDuration(text);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `"${text}" is not a duration; write it like 30s, 5m, 1h30m or 7d` });
    return z.NEVER;
  }
  return ms;
});
