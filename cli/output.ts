// Tables for people, JSON or YAML for scripts (-o).
import { Option } from 'commander';
import { stringify } from 'yaml';
import { CliError } from './errors.ts';

export type Format = 'table' | 'json' | 'yaml';

export function outputOption(): Option {
  return new Option('-o, --output <format>', 'output format').choices(['table', 'json', 'yaml']).default('table');
}

/** Columns padded to the widest cell, two spaces between, as in `infra list`. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => `  ${cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]! + 2))).join('')}`.trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

export function render(data: unknown, format: Format): string {
  if (format === 'json') return JSON.stringify(data, null, 2);
  if (format === 'yaml') return stringify(data, { lineWidth: 0 }).trimEnd();
  throw new CliError(`no table for this data; use -o json or -o yaml`);
}
