// The operator's view of the hub: one informer per kind, with the indexes every request
// and reconcile answers from (email → user, email → built-in groups, subject → grants,
// destination → grants). Nothing on a request path lists the API server.
import { CoreV1Api, CustomObjectsApi, type KubeConfig, type KubernetesListObject, type KubernetesObject, type V1Secret } from '@kubernetes/client-node';
import type { AccessPolicy, AccessRequest, Destination, Grant, Group, Provider, User } from '../api/v1alpha1/types.ts';
import { grantDestination } from '../api/grants.ts';
import { accessRequestLabel } from '../api/requests.ts';
import { resources } from '../api/v1alpha1/types.ts';
import { Informer } from '../lib/controller/informer.ts';
import type { Logger } from '../lib/log.ts';

export const credentialLabel = 'infrahq.com/credential';
export const userLabel = 'infrahq.com/user';

export const grantIndex = { bySubject: 'subject', byDestination: 'destination', byAccessRequest: 'access-request' } as const;
export const userIndex = { byEmail: 'email', byIdPGroup: 'idp-group' } as const;

export function subjectKey(grant: Grant): string {
  return grant.spec.user !== undefined ? userSubject(grant.spec.user) : groupSubject(grant.spec.group ?? '');
}
export const userSubject = (email: string) => `user:${email.toLowerCase()}`;
export const groupSubject = (name: string) => `group:${name}`;

type Kind = keyof typeof resources;

/** kubectl apply's copy of the whole object, often its largest part. */
export const lastAppliedAnnotation = 'kubectl.kubernetes.io/last-applied-configuration';

/**
 * What the operator keeps of a hub object in its caches: everything it reads or serves
 * (the management API hands cached objects out), less what it never reads: which fields
 * each manager owns (fieldsV1: the audit line reads only who wrote the spec, and when)
 * and kubectl's last-applied copy of the object. Applied as objects arrive, so a first
 * list of many objects never holds them whole.
 */
export function pruneCached<T extends KubernetesObject>(obj: T): T {
  const metadata = obj.metadata;
  if (!metadata) return obj;
  for (const entry of metadata.managedFields ?? []) delete entry.fieldsV1;
  if (metadata.annotations?.[lastAppliedAnnotation] === undefined) return obj;
  delete metadata.annotations[lastAppliedAnnotation];
  if (Object.keys(metadata.annotations).length === 0) delete metadata.annotations;
  return obj;
}

export class Hub {
  readonly grants: Informer<Grant>;
  readonly users: Informer<User>;
  readonly groups: Informer<Group>;
  readonly providers: Informer<Provider>;
  readonly destinations: Informer<Destination>;
  readonly accessRequests: Informer<AccessRequest>;
  readonly accessPolicies: Informer<AccessPolicy>;
  /** Session and access-key Secrets in the operator's namespace. */
  readonly credentials: Informer<V1Secret>;

  constructor(kubeConfig: KubeConfig, namespace: string, logger: Logger) {
    const custom = kubeConfig.makeApiClient(CustomObjectsApi);
    const informer = <T extends KubernetesObject>(kind: Kind) => {
      const { group, version, plural } = resources[kind];
      return new Informer<T>({
        kubeConfig,
        logger,
        path: `/apis/${group}/${version}/${plural}`,
        list: (page) => custom.listClusterCustomObject({ group, version, plural, ...page }) as Promise<KubernetesListObject<T>>,
        transform: pruneCached,
      });
    };
    this.grants = informer<Grant>('Grant');
    this.users = informer<User>('User');
    this.groups = informer<Group>('Group');
    this.providers = informer<Provider>('Provider');
    this.destinations = informer<Destination>('Destination');
    this.accessRequests = informer<AccessRequest>('AccessRequest');
    this.accessPolicies = informer<AccessPolicy>('AccessPolicy');

    const core = kubeConfig.makeApiClient(CoreV1Api);
    this.credentials = new Informer<V1Secret>({
      kubeConfig,
      logger,
      path: `/api/v1/namespaces/${namespace}/secrets`,
      labelSelector: credentialLabel,
      list: (page) => core.listNamespacedSecret({ namespace, labelSelector: credentialLabel, ...page }),
    });

    this.grants.addIndex(grantIndex.bySubject, (grant) => [subjectKey(grant)]);
    this.grants.addIndex(grantIndex.byAccessRequest, (grant) => {
      const owner = grant.metadata.labels?.[accessRequestLabel];
      return owner ? [owner] : [];
    });
    this.grants.addIndex(grantIndex.byDestination, (grant) => [grantDestination(grant)]);
    this.users.addIndex(userIndex.byEmail, (user) => [user.spec.email.toLowerCase()]);
    this.users.addIndex(userIndex.byIdPGroup, (user) => user.status?.groups ?? []);
    this.groups.addIndex('member', (group) => (group.spec.members ?? []).map((m) => m.toLowerCase()));
  }

  private get all(): Informer<KubernetesObject>[] {
    return [
      this.grants,
      this.users,
      this.groups,
      this.providers,
      this.destinations,
      this.accessRequests,
      this.accessPolicies,
      this.credentials,
    ] as Informer<KubernetesObject>[];
  }

  async start(): Promise<void> {
    await Promise.all(this.all.map((i) => i.start()));
    await Promise.all(this.all.map((i) => i.waitForSync()));
  }

  async stop(): Promise<void> {
    await Promise.all(this.all.map((i) => i.stop()));
  }

  get synced(): boolean {
    return this.all.every((i) => i.hasSynced);
  }

  userByEmail(email: string): User | undefined {
    return this.users.byIndex(userIndex.byEmail, email.toLowerCase())[0];
  }

  /** Names of the built-in Groups that list this email as a member. */
  builtInGroups(email: string): string[] {
    return this.groups.byIndex('member', email.toLowerCase()).map((g) => g.metadata.name!);
  }
}
