#!/usr/bin/env node
// infra-operator: reconciles Infra's custom resources in the hub and serves the auth API.
import { loadKubeConfig } from '../lib/kube.ts';
import { runProgram } from '../lib/program.ts';
import { loadOperatorConfig, operatorUsage } from './config.ts';
import { Operator } from './operator.ts';

await runProgram({
  name: 'infra-operator',
  usage: operatorUsage,
  load: loadOperatorConfig,
  create: async (config, logger) => new Operator(config, loadKubeConfig(config.kubeconfig), logger),
});
