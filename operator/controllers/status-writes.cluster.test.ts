// The operator shares status with other writers (the connector's heartbeat, a login's
// Verified, anyone's edit): each controller writes its status only onto the copy it
// computed from. Here every controller is handed a copy that another writer has already
// moved past, against the real hub: it must write nothing, and once handed the current
// copy it must write what that copy implies.
import type { KubernetesObject } from '@kubernetes/client-node';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { resources } from '../../api/v1alpha1/types.ts';
import { eventually } from '../../hack/local-infra/programs.ts';
import { Applier } from '../../lib/apply.ts';
import { createAuditLog } from '../../lib/audit.ts';
import { findCondition, type Condition } from '../../lib/conditions.ts';
import { ControllerMetrics, type Controller } from '../../lib/controller/controller.ts';
import { Events } from '../../lib/events.ts';
import { loadKubeConfig } from '../../lib/kube.ts';
import { RestClient, resourcePath } from '../../lib/rest.ts';
import { cluster, kubectl, kubectlOk, oidcProviderObject, uniqueName } from '../../test/cluster.ts';
import { fakeHub, type FakeHub } from '../../test/fake-hub.ts';
import type { FakeInformer } from '../../test/fake-informer.ts';
import { CredentialStore } from '../credentials/store.ts';
import { ProviderClients } from '../identity/providers.ts';
import { fieldManager, type ControllerContext } from './context.ts';
import { destinationController } from './destination.ts';
import { groupController } from './group.ts';
import { providerController } from './provider.ts';
import { userController } from './user.ts';

type Kind = 'Destination' | 'User' | 'Group' | 'Provider';

interface Stored extends KubernetesObject {
  metadata: { name: string; resourceVersion: string; managedFields?: { manager?: string; subresource?: string }[] };
  status?: { conditions?: Condition[]; connected?: boolean; memberCount?: number };
}

interface Case {
  kind: Kind;
  object: (name: string) => KubernetesObject;
  /** What another writer changes after the operator's copy was taken. */
  writeElsewhere: (name: string) => Promise<void>;
  controller: (ctx: ControllerContext, fake: FakeHub) => Controller;
  /** What the operator's status says once it has the current copy. */
  expectCurrent: (stored: Stored) => void;
}

const informers = { Destination: 'destinations', User: 'users', Group: 'groups', Provider: 'providers' } as const;
/** Puts a copy in the fake hub's cache, as a watch event would. */
const cache = (fake: FakeHub, kind: Kind, copy: Stored) => (fake[informers[kind]] as unknown as FakeInformer<Stored>).set(copy);
const kubeConfig = () => loadKubeConfig(cluster('hub').adminKubeconfig);
const pathOf = (kind: Kind, name: string) => {
  const { group, version, plural } = resources[kind];
  return resourcePath(group, version, plural, undefined, name);
};
const read = (kind: Kind, name: string) => new RestClient(kubeConfig()).get<Stored>(pathOf(kind, name));
const operatorWroteStatus = (stored: Stored) => (stored.metadata.managedFields ?? []).some((m) => m.manager === fieldManager && m.subresource === 'status');
const relabel = (kind: Kind) => async (name: string) => void (await kubectlOk('hub', ['label', kind.toLowerCase(), name, 'elsewhere=written', '--overwrite']));
const credentialStore = (fake: FakeHub) =>
  new CredentialStore(
    kubeConfig(),
    'default',
    fake.hub,
    { sessionLifetimeMs: 1, sessionInactivityTimeoutMs: 1, maxSessionsPerUser: 1, maxAccessKeysPerUser: 1, accessKeyMaxLifetimeMs: 1 },
    pino({ level: 'silent' }),
  );

const cases: Case[] = [
  {
    kind: 'Destination',
    object: (name) => ({ apiVersion: 'infrahq.com/v1alpha1', kind: 'Destination', metadata: { name }, spec: { kind: 'kubernetes' } }),
    // The connector's first heartbeat: the copy the operator holds has never seen one.
    writeElsewhere: (name) =>
      new Applier(kubeConfig(), 'infra-connector', resources).applyStatus('Destination', name, { connected: true, lastSeenAt: new Date().toISOString() }),
    controller: (ctx) => destinationController(ctx),
    expectCurrent: (stored) => {
      expect(stored.status?.connected).toBe(true);
      expect(findCondition(stored.status?.conditions, 'Ready')).toMatchObject({ status: 'True', reason: 'Connected' });
    },
  },
  {
    kind: 'User',
    object: (name) => ({ apiVersion: 'infrahq.com/v1alpha1', kind: 'User', metadata: { name }, spec: { email: `${name}@example.com` } }),
    // A login finds the account disabled upstream: the copy the operator holds says nothing of it.
    writeElsewhere: async (name) => {
      const verified = {
        type: 'Verified',
        status: 'False',
        reason: 'AccountDisabled',
        message: 'disabled upstream',
        lastTransitionTime: new Date().toISOString(),
      };
      await kubectlOk('hub', ['patch', 'user', name, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { conditions: [verified] } })]);
    },
    controller: (ctx, fake) => userController(ctx, credentialStore(fake)),
    expectCurrent: (stored) => expect(findCondition(stored.status?.conditions, 'Ready')).toMatchObject({ status: 'False', reason: 'AccountDisabled' }),
  },
  {
    kind: 'Group',
    object: (name) => ({ apiVersion: 'infrahq.com/v1alpha1', kind: 'Group', metadata: { name }, spec: { members: ['ann@example.com'] } }),
    writeElsewhere: relabel('Group'),
    controller: (ctx) => groupController(ctx),
    expectCurrent: (stored) => expect(stored.status?.memberCount).toBe(1),
  },
  {
    kind: 'Provider',
    // Nothing listens on the discard port: discovery fails at once, and the status says so.
    object: (name) => oidcProviderObject(name, { issuer: 'https://127.0.0.1:9', clientID: 'infra', secretName: `${name}-client` }),
    writeElsewhere: relabel('Provider'),
    controller: (ctx, fake) =>
      providerController(ctx, { clients: new ProviderClients({ readStoredSecret: ctx.readStoredSecret }), credentials: credentialStore(fake) }),
    expectCurrent: (stored) => expect(findCondition(stored.status?.conditions, 'Ready')).toMatchObject({ status: 'False' }),
  },
];

const created: [Kind, string][] = [];
let running: Controller | undefined;

afterEach(async () => {
  await running?.stop();
  running = undefined;
});

afterAll(async () => {
  for (const [kind, name] of created) await kubectl('hub', ['delete', kind.toLowerCase(), name, '--ignore-not-found']);
});

describe('operator status writes', () => {
  it.each(cases)('$kind: a copy another writer has moved past writes nothing; the current copy is written', async (c) => {
    const name = uniqueName(`stale-${c.kind.toLowerCase()}`);
    await kubectlOk('hub', ['create', '-f', '-'], { input: JSON.stringify(c.object(name)) });
    created.push([c.kind, name]);
    const copy = await read(c.kind, name);
    await c.writeElsewhere(name);
    const moved = await read(c.kind, name);
    expect(moved.metadata.resourceVersion).not.toBe(copy.metadata.resourceVersion);

    const fake = fakeHub();
    cache(fake, c.kind, copy);
    const registry = new Registry();
    const ctx: ControllerContext = {
      hub: fake.hub,
      applier: new Applier(kubeConfig(), fieldManager, resources),
      events: new Events(kubeConfig(), 'infra-operator', pino({ level: 'silent' })),
      metrics: new ControllerMetrics(registry),
      logger: pino({ level: 'silent' }),
      audit: pino({ level: 'silent' }),
      auditTrail: createAuditLog('operator'),
      readSecret: () => Promise.resolve(undefined),
      readStoredSecret: () => Promise.resolve(undefined),
      // Only AccessRequests notify anyone.
      notifications: { notify: () => {}, stop: () => Promise.resolve() },
      now: () => new Date(),
    };
    running = c.controller(ctx, fake);
    const reconciles = async () => (await ctx.metrics.reconciles.get()).values.reduce((sum, v) => sum + v.value, 0);
    running.start();
    await eventually(async () => expect(await reconciles()).toBeGreaterThan(0));

    const afterStale = await read(c.kind, name);
    expect(operatorWroteStatus(afterStale), 'the operator wrote status computed from an older copy').toBe(false);
    expect(afterStale.metadata.resourceVersion).toBe(moved.metadata.resourceVersion);

    cache(fake, c.kind, moved);
    const current = await eventually(async () => {
      const stored = await read(c.kind, name);
      expect(operatorWroteStatus(stored)).toBe(true);
      return stored;
    });
    c.expectCurrent(current);
  });
});
