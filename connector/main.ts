#!/usr/bin/env node
// infra-connector: keeps one spoke cluster's RBAC equal to the hub's Grants and
// authenticates users with Infra tokens at an impersonating proxy.
import { loadKubeConfig } from '../lib/kube.ts';
import { runProgram } from '../lib/program.ts';
import { connectorUsage, loadConnectorConfig } from './config.ts';
import { Connector } from './connector.ts';

await runProgram({
  name: 'infra-connector',
  usage: connectorUsage,
  load: loadConnectorConfig,
  create: (config, logger) =>
    Connector.create(
      config,
      {
        ...(config.hubKubeconfig ? { hub: loadKubeConfig(config.hubKubeconfig) } : {}),
        spoke: loadKubeConfig(config.kubeconfig),
        ...(config.proxy.kubeconfig ? { proxy: loadKubeConfig(config.proxy.kubeconfig) } : {}),
      },
      logger,
    ),
});
