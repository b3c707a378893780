// What every operator controller is given.
import type { Applier } from '../../lib/apply.ts';
import type { ControllerMetrics } from '../../lib/controller/controller.ts';
import type { Events } from '../../lib/events.ts';
import type { Logger } from '../../lib/log.ts';
import type { Hub } from '../hub.ts';

export interface ControllerContext {
  hub: Hub;
  applier: Applier;
  events: Events;
  metrics: ControllerMetrics;
  logger: Logger;
  /** Who did what, when: one line per grant change, login and token. */
  audit: Logger;
  readSecret: (name: string, key: string) => Promise<string | undefined>;
  now: () => Date;
  resyncIntervalMs?: number;
}

export const fieldManager = 'infra-operator';
export const destinationLabel = 'infrahq.com/destination';
