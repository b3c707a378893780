// The shared informer against the real hub kube-apiserver: a first list in pages, the
// watch that follows it, and objects pruned before handlers and the cache see them.
import { CoreV1Api, CustomObjectsApi, type KubeConfig, type KubernetesListObject, type KubernetesObject, type V1ConfigMap } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cluster, kubectlOk, uniqueName } from '../../test/cluster.ts';
import { eventually } from '../../hack/local-infra/programs.ts';
import { loadKubeConfig } from '../kube.ts';
import { createLogger } from '../log.ts';
import { Informer, type InformerOptions, type ListPage } from './informer.ts';

/** The informer is generic: any custom resource will do, and lib/ knows no kind of Infra's. */
type CustomObject = KubernetesObject & { spec: Record<string, unknown> };

const logger = createLogger('informer-test', process.env.LOG_LEVEL ?? 'silent');
const listed = ['a', 'b', 'c', 'd', 'e'];
let namespace: string;
let kubeConfig: KubeConfig;
let informer: Informer<V1ConfigMap>;
const pages: ListPage[] = [];
const seen: { name: string; event: string; data: Record<string, string> | undefined; managedFields: boolean }[] = [];

// Selected by label: a cluster's own controllers put ConfigMaps in every namespace (kube-root-ca.crt).
const ours = 'informer-test=paged';
const configMap = (name: string) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace, labels: { 'informer-test': 'paged' } },
  data: { large: `${name}-payload`, kept: name },
});

beforeAll(async () => {
  namespace = uniqueName('informer');
  await kubectlOk('hub', ['create', 'namespace', namespace]);
  await kubectlOk('hub', ['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: listed.map(configMap) }) });
  kubeConfig = loadKubeConfig(cluster('hub').adminKubeconfig);
  const core = kubeConfig.makeApiClient(CoreV1Api);
  informer = new Informer<V1ConfigMap>({
    kubeConfig,
    logger,
    path: `/api/v1/namespaces/${namespace}/configmaps`,
    listPageSize: 2,
    labelSelector: ours,
    list: (page) => {
      pages.push(page);
      return core.listNamespacedConfigMap({ namespace, ...page });
    },
    transform: (cm) => ({ ...cm, data: { kept: cm.data!['kept']! } }),
  });
  informer.onChange((cm, event) =>
    seen.push({ name: cm.metadata!.name!, event, data: { ...cm.data }, managedFields: cm.metadata?.managedFields !== undefined }),
  );
  await informer.start();
  await informer.waitForSync();
});

afterAll(async () => {
  await informer?.stop();
  await kubectlOk('hub', ['delete', 'namespace', namespace, '--wait=false']);
});

it('lists in pages of the size asked for, then watches from where the list ended', async () => {
  expect(pages.map((p) => p.limit)).toEqual([2, 2, 2]);
  expect(pages[0]!._continue).toBeUndefined();
  expect(pages.slice(1).every((p) => typeof p._continue === 'string' && p._continue.length > 0)).toBe(true);
  expect(
    informer
      .list()
      .map((cm) => cm.metadata!.name)
      .sort(),
  ).toEqual(listed);

  await kubectlOk('hub', ['apply', '-f', '-'], { input: JSON.stringify(configMap('watched')) });
  await eventually(() => expect(informer.get('watched', namespace)).toBeDefined());
  expect(seen.filter((s) => s.name === 'watched')).toHaveLength(1);
  expect(
    seen
      .filter((s) => s.event === 'add')
      .map((s) => s.name)
      .sort(),
  ).toEqual([...listed, 'watched']);
});

it("pages through custom objects too, whose lists client-node hands over as JSON ('continue', not '_continue')", async () => {
  const run = uniqueName('paged');
  const names = ['g1', 'g2', 'g3'].map((g) => `${run}-${g}`);
  const grants = names.map((name) => ({
    apiVersion: 'infrahq.com/v1alpha1',
    kind: 'Grant',
    metadata: { name, labels: { 'informer-test': run } },
    spec: { user: `${name}@example.com`, role: 'view', resource: 'nowhere' },
  }));
  await kubectlOk('hub', ['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: grants }) });
  const custom = kubeConfig.makeApiClient(CustomObjectsApi);
  const grantPages: ListPage[] = [];
  const grantInformer = new Informer<CustomObject>({
    kubeConfig,
    logger,
    path: '/apis/infrahq.com/v1alpha1/grants',
    labelSelector: `informer-test=${run}`,
    listPageSize: 2,
    list: (page) => {
      grantPages.push(page);
      return custom.listClusterCustomObject({
        group: 'infrahq.com',
        version: 'v1alpha1',
        plural: 'grants',
        labelSelector: `informer-test=${run}`,
        ...page,
      }) as Promise<KubernetesListObject<CustomObject>>;
    },
  });
  try {
    await grantInformer.start();
    await grantInformer.waitForSync();
    expect(grantPages).toHaveLength(2);
    expect(
      grantInformer
        .list()
        .map((g) => g.metadata!.name)
        .sort(),
    ).toEqual(names);
  } finally {
    await grantInformer.stop();
    await kubectlOk('hub', ['delete', 'grants', '-l', `informer-test=${run}`]);
  }
});

it('prunes listed and watched objects before handlers and the cache see them, and drops managedFields from the cache only', () => {
  for (const name of [...listed, 'watched']) {
    expect(seen.find((s) => s.name === name)).toEqual({ name, event: 'add', data: { kept: name }, managedFields: true });
    expect(informer.get(name, namespace)?.data).toEqual({ kept: name });
    expect(informer.get(name, namespace)?.metadata?.managedFields).toBeUndefined();
  }
});

it('hands a deleted object to handlers pruned as well', async () => {
  await kubectlOk('hub', ['delete', 'configmap', 'watched', '-n', namespace]);
  const deleted = await eventually(() => {
    const event = seen.find((s) => s.name === 'watched' && s.event === 'delete');
    expect(event).toBeDefined();
    return event!;
  });
  expect(deleted.data).toEqual({ kept: 'watched' });
  expect(informer.get('watched', namespace)).toBeUndefined();
});

describe('with an incoming selector', () => {
  const stage = 'informer-test/stage';
  let staged: Informer<V1ConfigMap>;
  const events: { name: string; event: string; stage: string | undefined }[] = [];
  const labelled = (name: string, value?: string) => ({
    ...configMap(name),
    metadata: { name, namespace, ...(value ? { labels: { [stage]: value } } : {}) },
  });
  const apply = (...objects: object[]) => kubectlOk('hub', ['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }) });
  const deletions = (prefix: string) => events.filter((e) => e.name.startsWith(prefix) && e.event === 'delete');

  /** An informer of the ConfigMaps labelled ours, and of those on their way (unlabelled), whose events go to `into`. */
  const stagedInformer = async (into: typeof events, options: Pick<InformerOptions<V1ConfigMap>, 'incomingGraceMs' | 'lookUpLeaving'>) => {
    const core = kubeConfig.makeApiClient(CoreV1Api);
    const informer = new Informer<V1ConfigMap>({
      kubeConfig,
      logger,
      path: `/api/v1/namespaces/${namespace}/configmaps`,
      labelSelector: `${stage}=ours`,
      incomingSelector: `!${stage}`,
      list: (page) => core.listNamespacedConfigMap({ namespace, ...page }),
      ...options,
    });
    informer.onChange((cm, event) => into.push({ name: cm.metadata!.name!, event, stage: cm.metadata?.labels?.[stage] }));
    await informer.start();
    await informer.waitForSync();
    return informer;
  };

  beforeAll(async () => {
    await apply(labelled('unlabelled'), labelled('labelled', 'ours'), labelled('elsewhere', 'theirs'));
    // Long enough that a move seen as a deletion could not hide behind the grace.
    staged = await stagedInformer(events, { incomingGraceMs: 5000 });
  });

  afterAll(() => staged?.stop());

  it('holds the objects either selector selects, and only those', () => {
    const names = staged.list().map((cm) => cm.metadata!.name);
    expect(names).toEqual(expect.arrayContaining(['unlabelled', 'labelled', ...listed]));
    expect(names).not.toContain('elsewhere');
  });

  it('never shows an object moving from the incoming selector into the other as deleted', async () => {
    for (let i = 0; i < 10; i++) {
      const name = `mover-${i}`;
      await apply(labelled(name));
      await eventually(() => expect(staged.get(name, namespace)).toBeDefined());
      await apply(labelled(name, 'ours'));
      await eventually(() => expect(events).toContainEqual({ name, event: 'add', stage: 'ours' }));
      expect(staged.get(name, namespace)?.metadata?.labels?.[stage]).toBe('ours');
    }
    // Past the grace: a move taken for a deletion would have been dispatched by now.
    await new Promise((resolve) => setTimeout(resolve, 5500));
    expect(deletions('mover-')).toEqual([]);
    expect(staged.list().filter((cm) => cm.metadata!.name!.startsWith('mover-'))).toHaveLength(10);
  });

  it('deletes what leaves both selectors: relabelled elsewhere, or deleted, labelled or not', async () => {
    await apply(labelled('leaver', 'ours'), labelled('passer'), labelled('doomed'), labelled('gone', 'ours'));
    await eventually(() => expect(['leaver', 'passer', 'doomed', 'gone'].map((name) => staged.get(name, namespace))).not.toContain(undefined));
    await apply(labelled('leaver', 'theirs'), labelled('passer', 'theirs'));
    await kubectlOk('hub', ['delete', 'configmap', 'doomed', 'gone', '-n', namespace]);
    // A labelled object's deletion is seen at once; an unlabelled one's once the grace is over.
    await eventually(() => {
      expect(events).toContainEqual({ name: 'leaver', event: 'delete', stage: 'ours' });
      expect(events).toContainEqual({ name: 'gone', event: 'delete', stage: 'ours' });
    });
    await eventually(() => {
      expect(events).toContainEqual({ name: 'passer', event: 'delete', stage: undefined });
      expect(events).toContainEqual({ name: 'doomed', event: 'delete', stage: undefined });
    }, 10_000);
    for (const name of ['leaver', 'passer', 'doomed', 'gone']) expect(staged.get(name, namespace)).toBeUndefined();
  });

  it('with lookUpLeaving, sees an object leave both selectors without waiting for the grace, and a move still as a move', async () => {
    const urgent: typeof events = [];
    // A minute's grace: only a lookup can tell these deletions within the test's time.
    const quick = await stagedInformer(urgent, { incomingGraceMs: 60_000, lookUpLeaving: (cm) => cm.metadata!.name!.startsWith('urgent-') });
    try {
      const movers = [0, 1, 2, 3, 4].map((i) => `urgent-mover-${i}`);
      await apply(labelled('urgent-doomed'), labelled('urgent-passer'), ...movers.map((name) => labelled(name)));
      await eventually(() => expect(['urgent-doomed', 'urgent-passer', ...movers].map((name) => quick.get(name, namespace))).not.toContain(undefined));
      await apply(labelled('urgent-passer', 'theirs'), ...movers.map((name) => labelled(name, 'ours')));
      await kubectlOk('hub', ['delete', 'configmap', 'urgent-doomed', '-n', namespace]);
      await eventually(() => {
        expect(urgent).toContainEqual({ name: 'urgent-doomed', event: 'delete', stage: undefined });
        expect(urgent).toContainEqual({ name: 'urgent-passer', event: 'delete', stage: undefined });
        for (const name of movers) expect(urgent).toContainEqual({ name, event: 'add', stage: 'ours' });
      }, 10_000);
      expect(urgent.filter((e) => e.name.startsWith('urgent-mover-') && e.event === 'delete')).toEqual([]);
      expect(quick.get('urgent-doomed', namespace)).toBeUndefined();
      expect(quick.get('urgent-passer', namespace)).toBeUndefined();
    } finally {
      await quick.stop();
    }
  });
});
