#!/usr/bin/env node
// infra-operator: reconciles Infra's custom resources in the hub and serves the auth API.
import { ConfigError } from '../lib/config.ts';
import { errorMessage } from '../lib/controller/informer.ts';
import { loadKubeConfig } from '../lib/kube.ts';
import { createLogger } from '../lib/log.ts';
import { version } from '../lib/version.ts';
import { loadOperatorConfig, operatorUsage } from './config.ts';
import { Operator } from './operator.ts';

let parsed;
try {
  parsed = loadOperatorConfig(process.argv.slice(2), process.env);
} catch (err) {
  console.error(`infra-operator: ${err instanceof ConfigError ? err.message : errorMessage(err)}`);
  process.exit(2);
}
if (parsed.kind === 'help') {
  console.log(operatorUsage);
  process.exit(0);
}
if (parsed.kind === 'version') {
  console.log(`infra-operator ${version}`);
  process.exit(0);
}

const { config } = parsed;
const logger = createLogger('infra-operator', config.logLevel);
const operator = new Operator(config, loadKubeConfig(config.kubeconfig), logger);

let stopping = false;
const shutdown = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'shutting down');
  await operator.stop();
  process.exit(0);
};
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('unhandledRejection', (err) => logger.error({ err: errorMessage(err) }, 'unhandled rejection'));

try {
  await operator.start();
} catch (err) {
  logger.fatal({ err: errorMessage(err) }, 'infra-operator could not start');
  process.exit(1);
}
