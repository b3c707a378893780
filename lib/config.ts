// Loading a program's configuration from a YAML file, environment variables and flags
// (later ones win), validated with zod into errors that name the setting and its source.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parse } from 'yaml';
import { z } from 'zod';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** A listening address, host:port; port 0 picks a free one. */
export const listenAddress = z.string().regex(/^(\[[0-9a-fA-F:]+\]|[a-zA-Z0-9.-]*):\d{1,5}$/, 'must be host:port, e.g. 0.0.0.0:8443 or 127.0.0.1:0');

/** Where a program serves its HTTPS /metrics (lib/secure-metrics.ts); off when absent. */
export const secureMetricsAddress = listenAddress
  .optional()
  .describe(
    'host:port of the HTTPS /metrics for scrapers with a bearer token allowed to get /metrics (TokenReview + SubjectAccessReview); off when absent (config/ sets 0.0.0.0:8444)',
  );

export function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  try {
    const value: unknown = parse(text) ?? {};
    if (typeof value !== 'object' || Array.isArray(value)) throw new Error('the top level must be a mapping of settings');
    return value as Record<string, unknown>;
  } catch (err) {
    throw new ConfigError(`config file ${path} is not valid YAML: ${(err as Error).message}`);
  }
}

/** Sets a dotted path ("tokens.lifetime") in a nested object. */
export function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    if (typeof node[part] !== 'object' || node[part] === null) node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts.at(-1)!] = value;
}

/** Validates merged settings, turning zod's issues into one readable error. */
export function validateConfig<S extends z.ZodType>(schema: S, input: unknown, source: string): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `  - ${issue.path.join('.') || '(top level)'}: ${issue.message}`);
  throw new ConfigError(`invalid configuration (${source}):\n${problems.join('\n')}`);
}

/** A flag, the config path it sets, and the environment variable that also sets it. */
export interface Setting {
  path: string;
  env: string;
  /** Comma-separated list. */
  list?: boolean;
}

export type ParsedArgs<T> = { kind: 'help' } | { kind: 'version' } | { kind: 'run'; config: T };

/** The --help text of a server program: what it does, and every flag with its variable. */
export function programUsage(name: string, description: string, docs: string, settings: Record<string, Setting>): string {
  const flags = Object.entries(settings).map(([flag, { env }]) => `  --${flag.padEnd(24)} [${env}]`);
  return [
    `Usage: ${name} [--config FILE] [flags]`,
    '',
    description,
    '',
    'Flags (each also read from the environment variable in brackets):',
    `  --config FILE              YAML configuration file (see ${docs})`,
    ...flags,
    '  --help                     show this help',
    '  --version                  print the version',
  ].join('\n');
}

/**
 * A program's configuration from `--config FILE`, then environment variables, then
 * flags (later ones win), validated by the schema into errors that name each setting.
 */
export function loadProgramConfig<S extends z.ZodType>(
  argv: string[],
  env: NodeJS.ProcessEnv,
  settings: Record<string, Setting>,
  schema: S,
  usage: string,
): ParsedArgs<z.output<S>> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        config: { type: 'string' },
        help: { type: 'boolean' },
        version: { type: 'boolean' },
        ...Object.fromEntries(Object.keys(settings).map((flag) => [flag, { type: 'string' as const }])),
      },
    }) as { values: Record<string, string | boolean | undefined> });
  } catch (err) {
    throw new ConfigError(`${(err as Error).message}\n\n${usage}`);
  }
  if (values.help) return { kind: 'help' };
  if (values.version) return { kind: 'version' };

  const input = typeof values.config === 'string' ? readConfigFile(values.config) : {};
  for (const [flag, { path, env: name, list }] of Object.entries(settings)) {
    const value = values[flag] ?? env[name];
    if (typeof value === 'string' && value !== '') setPath(input, path, list ? value.split(',').map((v) => v.trim()) : value);
  }
  const source = typeof values.config === 'string' ? `${values.config}, environment and flags` : 'environment and flags';
  return { kind: 'run', config: validateConfig(schema, input, source) };
}
