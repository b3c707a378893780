// Every scenario the bench runs, in order. Adding one: a module in this folder that
// exports a Scenario (see ../harness.ts), and one line here.
import type { Scenario } from '../harness.ts';
import { accessRequestApproval } from './access-request-approval.ts';
import { cliTokens } from './cli-tokens.ts';
import { connectorColdSync } from './connector-cold-sync.ts';
import { connectorProxy } from './connector-proxy.ts';
import { controlPlaneStartup } from './controlplane-startup.ts';
import { directTrust } from './direct-trust.ts';
import { destinationsScale } from './destinations.ts';
import { grantPropagation } from './grant-propagation.ts';
import { operatorMemory, operatorMemoryLarge } from './operator-memory.ts';
import { tokenIssuance } from './token-issuance.ts';

export const scenarios: Scenario[] = [
  tokenIssuance,
  operatorMemory,
  controlPlaneStartup,
  cliTokens,
  connectorProxy,
  grantPropagation,
  connectorColdSync,
  directTrust,
  destinationsScale,
  accessRequestApproval,
  operatorMemoryLarge,
];
