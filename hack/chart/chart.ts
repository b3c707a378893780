// The Infra Helm chart (charts/infra), generated from config/ so that it is never a
// second copy kept by hand: `make manifests` writes it, and a unit test fails when the
// committed chart is not what config/ generates.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { format, resolveConfig } from 'prettier';
import { stringify } from 'yaml';
import { readConfig, type ChartModel } from './model.ts';
import { generatedHeader, helpers, templateFiles } from './templates.ts';
import { valuesFile, valuesSchema } from './values.ts';

const repoRoot = join(import.meta.dirname, '..', '..');
export const chartDir = join(repoRoot, 'charts', 'infra');

async function chartYaml(): Promise<string> {
  const { version } = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
  const chart = {
    apiVersion: 'v2',
    name: 'infra',
    description: 'Access management for Kubernetes: the Infra operator for the hub, the connector for each spoke (the objects of config/).',
    type: 'application',
    version,
    appVersion: version,
    home: 'https://github.com/infrahq/infra',
  };
  return `${generatedHeader}\n${stringify(chart, { lineWidth: 0 })}`;
}

/** Formatted as `prettier --check` expects it, like every JSON file in the repository. */
async function schemaFile(model: ChartModel): Promise<string> {
  const file = join(chartDir, 'values.schema.json');
  return format(JSON.stringify(valuesSchema(model)), { ...(await resolveConfig(file)), filepath: file });
}

/** Every file of charts/infra, by path relative to it. */
export async function generateChart(): Promise<Record<string, string>> {
  const model = await readConfig();
  return {
    'Chart.yaml': await chartYaml(),
    'values.yaml': valuesFile(model, generatedHeader),
    'values.schema.json': await schemaFile(model),
    'templates/_helpers.tpl': helpers,
    ...templateFiles(model),
  };
}
