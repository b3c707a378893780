// The shipped spoke keeps the bootstrap credential in a Secret, never in the connector's
// ConfigMap: the Deployment hands it over as the environment variable the config reads.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { bootstrapSecret } from '../api/connector-bootstrap.ts';
import { loadConnectorConfig } from './config.ts';

const connectorDir = join(import.meta.dirname, '..', 'config', 'connector');
const documents = (file: string) => parseAllDocuments(readFileSync(join(connectorDir, file), 'utf8')).map((d) => d.toJS() as Record<string, unknown>);

interface EnvVar {
  name: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean } };
}
type Deployment = { spec: { template: { spec: { containers: { env?: EnvVar[] }[] } } } };

describe('the bootstrap credential in config/connector', () => {
  const [deployment] = documents('deployment.yaml') as Deployment[];
  const env = deployment!.spec.template.spec.containers[0]!.env ?? [];
  const [configMap] = documents('config.yaml') as { data: Record<string, string> }[];

  it('reaches the connector from the Secret `infra destinations add` tells people to create, optional once it is spent', () => {
    expect(env.find((e) => e.name === 'INFRA_BOOTSTRAP_TOKEN')?.valueFrom?.secretKeyRef).toEqual({ ...bootstrapSecret, optional: true });
  });

  it('is not in the ConfigMap, and the config file with that variable set gives the connector its credential', () => {
    expect(configMap!.data['config.yaml']).not.toContain('bootstrapToken');
    const file = join(mkdtempSync(join(tmpdir(), 'connector-config-')), 'config.yaml');
    writeFileSync(file, configMap!.data['config.yaml']!);
    const token = `infra-bootstrap.production.${'x'.repeat(43)}`;
    const loaded = loadConnectorConfig(['--config', file], { INFRA_BOOTSTRAP_TOKEN: token });
    expect(loaded.kind === 'run' && loaded.config.bootstrapToken).toBe(token);
  });
});
