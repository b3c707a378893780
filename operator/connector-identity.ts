// Each destination's connector identity in the hub (docs/adr/0021-connector-bootstrap.md):
// a ServiceAccount connector-<destination> in the operator's namespace, the shared
// ClusterRole infra:connector (what any connector does; the isolation policy in
// config/admission narrows it to its own destination), a Role letting that account
// renew its own token, and a single-use, expiring bootstrap credential the connector
// exchanges once for its first token. Everything per destination is owned by its
// Destination, so deleting the Destination (`infra destinations remove`, kubectl, Git)
// has the hub's garbage collector delete the account, which invalidates every token of it.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { KubeConfig } from '@kubernetes/client-node';
import {
  connectorServiceAccount,
  formatBootstrapToken,
  minCredentialSeconds,
  parseBootstrapToken,
  type Bootstrap,
  type ConnectorCredential,
} from '../api/connector-bootstrap.ts';
import { destinationLabel, destinationNameProblem } from '../api/grants.ts';
import { resources, type Destination } from '../api/v1alpha1/types.ts';
import { statusCode } from '../lib/kube.ts';
import { resourcePath, RestClient } from '../lib/rest.ts';
import { StatusError } from '../lib/status-error.ts';

const fieldManager = 'infra-connector-identity';
const partOf = { 'app.kubernetes.io/part-of': 'infra' };
const sharedRole = 'infra:hub-connector';
const expiresAtAnnotation = 'infrahq.com/expires-at';
const usedAtAnnotation = 'infrahq.com/used-at';
/** The longest a connector's hub token lives; it renews it long before. */
const maxCredentialSeconds = 24 * 3600;

const bootstrapSecretName = (destination: string) => `infra-connector-bootstrap-${destination}`;
const roleName = (destination: string) => `infra:connector:${destination}`;

/** Where connectors reach the hub's API server. */
export interface HubAddress {
  server: string;
  certificateAuthorityData?: string;
}

/** The hub as the operator's own kubeconfig reaches it, unless configured otherwise. */
export function hubAddress(kubeConfig: KubeConfig, configured: { hubURL?: string | undefined; hubCAFile?: string | undefined }): HubAddress {
  const cluster = kubeConfig.getCurrentCluster();
  const server = configured.hubURL ?? cluster?.server;
  if (!server) throw new Error("no hub address for connectors: set connectors.hubURL (the hub API server's address as spokes reach it)");
  const ca = configured.hubCAFile
    ? readFileSync(configured.hubCAFile)
    : cluster?.caData
      ? Buffer.from(cluster.caData, 'base64')
      : cluster?.caFile
        ? readFileSync(cluster.caFile)
        : undefined;
  return { server, ...(ca ? { certificateAuthorityData: ca.toString('base64') } : {}) };
}

interface Subject {
  kind: string;
  name: string;
  namespace?: string;
}

const digest = (secret: string) => createHash('sha256').update(secret).digest();

export class ConnectorIdentities {
  private readonly api: RestClient;
  private readonly namespace: string;
  private readonly hub: HubAddress;

  constructor(kubeConfig: KubeConfig, namespace: string, hub: HubAddress) {
    this.api = new RestClient(kubeConfig);
    this.namespace = namespace;
    this.hub = hub;
  }

  /**
   * Creates the Destination when it is missing, and its connector's identity, and issues a
   * new bootstrap credential (any earlier one for it stops working). Idempotent otherwise.
   */
  async add(destination: string, expiresInMs: number, createdBy: string): Promise<Bootstrap> {
    const problem = destinationNameProblem(destination);
    if (problem) throw new StatusError(422, 'Invalid', `destination "${destination}": ${problem}`);
    const owner = await this.ensureDestination(destination, createdBy);
    const ownerReferences = [{ apiVersion: owner.apiVersion, kind: 'Destination', name: destination, uid: owner.metadata.uid! }];
    const labels = { ...partOf, [destinationLabel]: destination };
    const account = connectorServiceAccount(destination);
    const core = (plural: string, name?: string) => `/api/v1/namespaces/${this.namespace}/${plural}${name ? `/${name}` : ''}`;
    const rbac = (plural: string, name: string, namespace?: string) => resourcePath('rbac.authorization.k8s.io', 'v1', plural, namespace, name);
    await this.apply(core('serviceaccounts', account), { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: account, labels, ownerReferences } });
    // Only its own account's token: a connector renews its credential without the operator.
    await this.apply(rbac('roles', roleName(destination), this.namespace), {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: roleName(destination), labels, ownerReferences },
      rules: [{ apiGroups: [''], resources: ['serviceaccounts/token'], resourceNames: [account], verbs: ['create'] }],
    });
    await this.apply(rbac('rolebindings', roleName(destination), this.namespace), {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: roleName(destination), labels, ownerReferences },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: roleName(destination) },
      subjects: [{ kind: 'ServiceAccount', name: account, namespace: this.namespace }],
    });
    await this.bindConnector(destination);

    const secret = randomBytes(32).toString('base64url');
    const expiresAt = new Date(Date.now() + expiresInMs).toISOString();
    const name = bootstrapSecretName(destination);
    // A new credential replaces the last one, used or not.
    await this.ignoreNotFound(() => this.api.delete(core('secrets', name)));
    await this.api.create(
      core('secrets'),
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name, labels, annotations: { [expiresAtAnnotation]: expiresAt }, ownerReferences },
        type: 'infrahq.com/connector-bootstrap',
        data: { digest: digest(secret).toString('base64') },
      },
      fieldManager,
    );
    return { kind: 'DestinationBootstrap', destination, bootstrapToken: formatBootstrapToken(destination, secret), expiresAt };
  }

  /** Spends a bootstrap credential for the connector's first hub token; every refusal says why and what to do. */
  async exchange(destination: string, bootstrapToken: string, expirationSeconds: number): Promise<ConnectorCredential> {
    const again = `run \`infra destinations add ${destination}\` for a new bootstrap credential`;
    const parsed = parseBootstrapToken(bootstrapToken);
    if (!parsed) throw new StatusError(401, 'Unauthorized', `that is not an Infra bootstrap credential (infra-bootstrap.<destination>.<secret>): ${again}`);
    if (parsed.destination !== destination) {
      throw new StatusError(
        403,
        'Forbidden',
        `this bootstrap credential is for destination ${parsed.destination}, not ${destination}: use the one \`infra destinations add ${destination}\` printed`,
      );
    }
    const path = `/api/v1/namespaces/${this.namespace}/secrets/${bootstrapSecretName(destination)}`;
    const stored = await this.api
      .get<{ metadata: { resourceVersion: string; annotations?: Record<string, string> }; data?: { digest?: string } }>(path)
      .catch((err: unknown) => {
        if (statusCode(err) !== 404) throw err;
        throw new StatusError(
          401,
          'Unauthorized',
          `no bootstrap credential is outstanding for destination ${destination} (never issued, or the destination was removed): ${again}`,
        );
      });
    const expected = Buffer.from(stored.data?.digest ?? '', 'base64');
    const given = digest(parsed.secret);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
      throw new StatusError(401, 'Unauthorized', `this bootstrap credential for ${destination} was replaced by a newer one: use the latest, or ${again}`);
    }
    const annotations = stored.metadata.annotations ?? {};
    const usedAt = annotations[usedAtAnnotation];
    if (usedAt)
      throw new StatusError(401, 'Unauthorized', `this bootstrap credential for ${destination} was already used at ${usedAt}; each is good once: ${again}`);
    const expiresAt = annotations[expiresAtAnnotation] ?? '';
    if (!(Date.parse(expiresAt) > Date.now()))
      throw new StatusError(401, 'Unauthorized', `this bootstrap credential for ${destination} expired at ${expiresAt}: ${again}`);
    // Spent before the token is minted, under the version just read: of two exchanges at once, one wins.
    await this.api
      .mergePatch(path, { metadata: { resourceVersion: stored.metadata.resourceVersion, annotations: { [usedAtAnnotation]: new Date().toISOString() } } })
      .catch((err: unknown) => {
        if (statusCode(err) !== 409) throw err;
        throw new StatusError(
          401,
          'Unauthorized',
          `this bootstrap credential for ${destination} was just used by another exchange; each is good once: ${again}`,
        );
      });
    return this.mint(destination, expirationSeconds);
  }

  private async mint(destination: string, expirationSeconds: number): Promise<ConnectorCredential> {
    const seconds = Math.min(Math.max(Math.floor(expirationSeconds), minCredentialSeconds), maxCredentialSeconds);
    const account = connectorServiceAccount(destination);
    const answer = await this.api.post<{ status: { token: string; expirationTimestamp: string } }>(
      `/api/v1/namespaces/${this.namespace}/serviceaccounts/${account}/token`,
      { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: seconds } },
    );
    return {
      kind: 'ConnectorCredential',
      ...this.hub,
      namespace: this.namespace,
      serviceAccount: account,
      token: answer.status.token,
      expiresAt: answer.status.expirationTimestamp,
    };
  }

  private async ensureDestination(destination: string, createdBy: string): Promise<Destination> {
    const { group, version, plural } = resources.Destination;
    const path = resourcePath(group, version, plural, undefined, destination);
    try {
      return await this.api.get<Destination>(path);
    } catch (err) {
      if (statusCode(err) !== 404) throw err;
    }
    const destinationObject = {
      apiVersion: `${group}/${version}`,
      kind: 'Destination',
      metadata: { name: destination, annotations: { 'infrahq.com/created-by': createdBy } },
      spec: { kind: 'kubernetes' },
    };
    await this.api.create(resourcePath(group, version, plural), destinationObject, fieldManager);
    return this.api.get<Destination>(path);
  }

  /**
   * The shared ClusterRole, and this destination's account among the subjects of its one
   * binding. Other operators' namespaces share the binding, so the list is added to, never
   * replaced, and checked again after each write. A removed destination's subject stays
   * behind, naming an account that no longer exists; adding it again reuses it.
   */
  private async bindConnector(destination: string): Promise<void> {
    const rbac = (plural: string) => resourcePath('rbac.authorization.k8s.io', 'v1', plural, undefined, sharedRole);
    await this.apply(rbac('clusterroles'), {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: sharedRole, labels: partOf },
      rules: [
        { apiGroups: ['infrahq.com'], resources: ['grants'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['infrahq.com'], resources: ['grants/status'], verbs: ['patch'] },
        { apiGroups: ['infrahq.com'], resources: ['destinations', 'destinations/status'], verbs: ['get', 'patch'] },
      ],
    });
    const subject = { kind: 'ServiceAccount', name: connectorServiceAccount(destination), namespace: this.namespace };
    const same = (s: Subject) => s.kind === subject.kind && s.name === subject.name && s.namespace === subject.namespace;
    for (let attempt = 1; ; attempt++) {
      const binding = await this.api.get<{ metadata: { resourceVersion: string }; subjects?: Subject[] }>(rbac('clusterrolebindings')).catch((err: unknown) => {
        if (statusCode(err) === 404) return undefined;
        throw err;
      });
      const subjects = binding?.subjects ?? [];
      if (subjects.some(same)) return;
      const wanted = [...subjects, subject];
      try {
        if (binding)
          await this.api.mergePatch(rbac('clusterrolebindings'), { metadata: { resourceVersion: binding.metadata.resourceVersion }, subjects: wanted });
        else
          await this.apply(rbac('clusterrolebindings'), {
            apiVersion: 'rbac.authorization.k8s.io/v1',
            kind: 'ClusterRoleBinding',
            metadata: { name: sharedRole, labels: partOf },
            roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: sharedRole },
            subjects: wanted,
          });
      } catch (err) {
        if (statusCode(err) !== 409 || attempt >= 10) throw err;
      }
    }
  }

  private apply(path: string, body: object): Promise<void> {
    return this.api.apply(path, body, fieldManager);
  }

  private async ignoreNotFound(call: () => Promise<unknown>): Promise<void> {
    try {
      await call();
    } catch (err) {
      if (statusCode(err) !== 404) throw err;
    }
  }
}
