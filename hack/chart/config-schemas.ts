// The `<program>.config` values' schemas, from the zod schemas the programs validate their
// config files with (operator/config.ts, connector/config.ts): one source of truth, so
// a misspelled or mistyped setting fails helm template instead of the pod at start.
import { z } from 'zod';
import { connectorConfigSchema } from '../../connector/config.ts';
import { operatorConfigSchema } from '../../operator/config.ts';

/** Programs whose config files the chart knows, by values key; others get a free-form object. */
const programConfigs: Record<string, z.ZodType> = { operator: operatorConfigSchema, connector: connectorConfigSchema };

/** Keys dropped from the program's schema: the value is merged over config/'s file, so nothing in it is required. */
const overrideIrrelevant = new Set(['$schema', 'required', 'default']);

function asOverride(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(asOverride);
  if (schema === null || typeof schema !== 'object') return schema;
  return Object.fromEntries(Object.entries(schema).flatMap(([key, value]) => (overrideIrrelevant.has(key) ? [] : [[key, asOverride(value)]])));
}

/** The JSON schema of settings that may be merged into a program's config file, or undefined for a program the chart does not know. */
export function programConfigSchema(componentKey: string): Record<string, unknown> | undefined {
  const schema = programConfigs[componentKey];
  // io input: what a config file may say (durations as text), before the program's defaults and transforms.
  return schema ? (asOverride(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' })) as Record<string, unknown>) : undefined;
}
