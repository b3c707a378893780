// infra-connector, assembled: watches the hub's Grants for one destination and the
// spoke's namespaces, roles and Infra-owned bindings; keeps the bindings equal to the
// Grants; registers and heartbeats the Destination; serves the authenticating proxy.
// Every replica watches and serves the proxy; the one holding the Lease in the spoke
// writes the bindings and heartbeats (docs/adr/0022-connector-ha.md).
import { once } from 'node:events';
import type { Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { readFile } from 'node:fs/promises';
import { CustomObjectsApi, type KubeConfig, type KubernetesObject, type V1ClusterRoleBinding, type V1RoleBinding } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { destinationLabel, grantDestination } from '../api/grants.ts';
import { resources, type Destination, type Grant } from '../api/v1alpha1/types.ts';
import { Applier } from '../lib/apply.ts';
import { certificateNames, ensureCASecret } from '../lib/ca-secret.ts';
import { ControllerMetrics } from '../lib/controller/controller.ts';
import { Informer, type InformerOptions } from '../lib/controller/informer.ts';
import { LeaderElector } from '../lib/leaderelection.ts';
import { resourcePath, RestClient } from '../lib/rest.ts';
import type { Logger } from '../lib/log.ts';
import { collectProcessMetrics } from '../lib/process-metrics.ts';
import { close, healthServer, listen, splitAddress, type MetricsSource } from '../lib/serve.ts';
import { listenSecureMetrics } from '../lib/secure-metrics.ts';
import { ServingCertRenewer } from '../lib/serving-renewer.ts';
import type { ConnectorConfig } from './config.ts';
import { JwksCache } from './proxy/jwks.ts';
import { ProxyThread } from './proxy/thread.ts';
import { upstreamFromKubeConfig } from './proxy/upstream.ts';
import { fieldManager, rbacSync, type RBACSync, type SpokeInformers } from './rbac/controller.ts';
import { cachedBinding, cachedGrant, cachedName } from './rbac/cached.ts';
import { managedByLabel, managedByValue } from './rbac/desired.ts';
import { ProtectedNamespaces } from './rbac/protected-namespaces.ts';
import { HubCredential } from './hub-credential.ts';
import { Registration } from './registration.ts';
import { reportedApiServer } from './api-server.ts';

export const proxyCASecret = 'infra-connector-ca';
const ownedSelector = `${managedByLabel}=${managedByValue}`;

/**
 * The connector's identities. The spoke's (the RBAC sync) manages Infra's bindings and may
 * bind any role; the proxy's may only impersonate. Kept apart, a flaw in one path lends
 * the other's power to nobody.
 */
export interface ConnectorKubeConfigs {
  /** The hub as configured (hubKubeconfig); the connector's own renewing credential when absent. */
  hub?: KubeConfig;
  spoke: KubeConfig;
  /** The proxy's upstream identity; the spoke's when absent. */
  proxy?: KubeConfig;
}

export class Connector {
  private readonly config: ConnectorConfig;
  private readonly hubConfig: KubeConfig;
  private readonly spokeConfig: KubeConfig;
  private readonly proxyConfig: KubeConfig;
  private readonly logger: Logger;
  private readonly registry = new Registry();
  private readonly grants: Informer<Grant>;
  private readonly spoke: SpokeInformers;
  private readonly rbac: RBACSync;
  private readonly protectedNamespaces: ProtectedNamespaces;
  private readonly keys: JwksCache;
  private readonly elector: LeaderElector | undefined;
  /** The one term of a connector without leader election. */
  private soloTerm: { stop: AbortController; done: Promise<void> } | undefined;
  private registration: Registration | undefined;
  private proxy: ProxyThread | undefined;
  private renewer: ServingCertRenewer | undefined;
  private metricsServer: HttpServer | undefined;
  private secureMetrics: HttpsServer | undefined;
  private started = false;

  private readonly hubCredential: HubCredential | undefined;

  constructor(config: ConnectorConfig, kube: ConnectorKubeConfigs & { hub: KubeConfig }, logger: Logger, issuerCA?: string, hubCredential?: HubCredential) {
    const { hub: hubConfig, spoke: spokeConfig } = kube;
    this.hubCredential = hubCredential;
    this.config = config;
    this.hubConfig = hubConfig;
    this.spokeConfig = spokeConfig;
    this.proxyConfig = kube.proxy ?? spokeConfig;
    this.logger = logger.child({ destination: config.destination });
    if (!kube.proxy) {
      this.logger.warn(
        'proxy.kubeconfig is not set: the proxy impersonates with the RBAC sync identity, which may also bind any role; give the proxy its own identity (docs/connector.md)',
      );
    }
    collectProcessMetrics(this.registry);

    // Every informer lists on lib/rest.ts: client-node's typed lists deserialize into model
    // classes and ask for gzip, both CPU the first sync spends before it can write.
    const informer = <T extends KubernetesObject>(
      kubeConfig: KubeConfig,
      path: string,
      transform: (obj: T) => T,
      selectors: Pick<InformerOptions<T>, 'labelSelector' | 'incomingSelector' | 'lookUpLeaving'> = {},
    ) => {
      const api = new RestClient(kubeConfig);
      return new Informer<T>({ kubeConfig, logger: this.logger, path, list: (page) => api.list<T>(path, page), transform, ...selectors });
    };
    const { group, version, plural } = resources.Grant;
    // This destination's Grants, and the new ones the operator has not labelled yet: a new
    // Grant is bound from its first watch event, without waiting for the operator's label
    // (docs/adr/0028-grants-bound-before-labelled.md). The rbac sync binds only those whose
    // spec.resource names this destination; once labelled, another destination's Grant
    // leaves the unlabelled watch, and this cache. One of ours deleted before its label is
    // looked up, so that its binding goes at once, not after the informer's grace.
    this.grants = informer<Grant>(hubConfig, resourcePath(group, version, plural), cachedGrant, {
      labelSelector: `${destinationLabel}=${config.destination}`,
      incomingSelector: `!${destinationLabel}`,
      lookUpLeaving: (grant) => grantDestination(grant) === config.destination,
    });
    const rbacPath = (plural: string) => resourcePath('rbac.authorization.k8s.io', 'v1', plural);
    this.spoke = {
      namespaces: informer(spokeConfig, '/api/v1/namespaces', cachedName),
      clusterRoles: informer(spokeConfig, rbacPath('clusterroles'), cachedName),
      clusterRoleBindings: informer<V1ClusterRoleBinding>(spokeConfig, rbacPath('clusterrolebindings'), cachedBinding, { labelSelector: ownedSelector }),
      roleBindings: informer<V1RoleBinding>(spokeConfig, rbacPath('rolebindings'), cachedBinding, { labelSelector: ownedSelector }),
    };
    this.protectedNamespaces = new ProtectedNamespaces(config.namespace);
    const election = config.leaderElection;
    if (election.enabled) {
      this.elector = new LeaderElector({
        kubeConfig: spokeConfig,
        namespace: config.namespace,
        name: election.leaseName,
        identity: election.identity ?? `${hostname()}-${process.pid}`,
        leaseDurationMs: election.leaseDuration,
        renewDeadlineMs: election.renewDeadline,
        retryPeriodMs: election.retryPeriod,
        logger: this.logger,
        registry: this.registry,
        onStartedLeading: (signal) => this.lead(signal),
        onStoppedLeading: () => this.logger.info('standing by: serving the proxy only'),
      });
    }
    const elector = this.elector;
    this.rbac = rbacSync({
      destination: config.destination,
      grants: this.grants,
      spoke: this.spoke,
      spokeConfig,
      protectedNamespaces: this.protectedNamespaces,
      hub: new Applier(hubConfig, fieldManager, resources),
      logger: this.logger,
      metrics: new ControllerMetrics(this.registry),
      ...(elector ? { holdsLease: () => elector.holdsLease } : {}),
    });
    this.keys = new JwksCache({ issuer: config.issuer, ...(issuerCA ? { ca: issuerCA } : {}), logger: this.logger, registry: this.registry });
  }

  static async create(config: ConnectorConfig, kube: ConnectorKubeConfigs, logger: Logger): Promise<Connector> {
    const issuerCA = config.issuerCAFile ? await readFile(config.issuerCAFile, 'utf8') : undefined;
    if (kube.hub) return new Connector(config, { ...kube, hub: kube.hub }, logger, issuerCA);
    // Before anything is written in the spoke: a refused bootstrap credential leaves it as it was.
    const credential = await HubCredential.obtain({
      destination: config.destination,
      namespace: config.namespace,
      issuer: config.issuer,
      ...(issuerCA ? { issuerCA } : {}),
      ...(config.bootstrapToken ? { bootstrapToken: config.bootstrapToken } : {}),
      lifetimeSeconds: Math.floor(config.hubCredential.lifetime / 1000),
      renewEveryMs: config.hubCredential.renewEvery ?? config.hubCredential.lifetime / 2,
      spoke: kube.spoke,
      logger: logger.child({ destination: config.destination }),
    });
    return new Connector(config, { ...kube, hub: credential.kubeConfig }, logger, issuerCA, credential);
  }

  get addresses(): { proxy: AddressInfo; metrics: AddressInfo } {
    return { proxy: this.proxy!.address, metrics: this.metricsServer!.address() as AddressInfo };
  }

  async start(): Promise<void> {
    const { config } = this;
    // The proxy thread's metrics follow the main thread's in one exposition.
    const metrics: MetricsSource = {
      contentType: this.registry.contentType,
      metrics: async () => (await this.registry.metrics()) + (this.proxy ? `\n${await this.proxy.metrics()}` : ''),
    };
    // Ready to serve users once the proxy is up and can verify tokens. A hub outage after
    // that does not make the connector unready: it keeps serving on cached keys.
    this.metricsServer = await listen(
      healthServer(metrics, () =>
        this.started && this.keys.ready ? this.renewer?.readiness() : "waiting for the spoke caches, the proxy or the operator's signing keys",
      ),
      config.listen.metrics,
    );
    this.secureMetrics = await listenSecureMetrics(config.listen.secureMetrics, {
      metrics,
      api: new RestClient(this.spokeConfig),
      logger: this.logger,
      dnsNames: [`infra-connector-metrics.${config.namespace}.svc`, 'localhost'],
    });
    // Readiness waits for the spoke's informers only: the hub may be down, and the proxy
    // and the bindings already in place keep working. The hub's Grants are listed
    // meanwhile; nothing is reconciled before both are (rbacSync). A standby keeps the
    // same caches, so when it takes over it reconciles at once, without listing.
    this.hubCredential?.start();
    void this.grants.start();
    const spokeInformers = [this.spoke.namespaces, this.spoke.clusterRoles, this.spoke.clusterRoleBindings, this.spoke.roleBindings];
    await Promise.all(spokeInformers.map((i) => i.start()));
    await Promise.all(spokeInformers.map((i) => i.waitForSync()));
    // Never rejects: a failed fetch is logged, and readiness waits for the keys.
    void this.keys.start();

    const ca = await ensureCASecret(this.spokeConfig, config.namespace, proxyCASecret, 'infra-connector');
    const names = certificateNames(config.proxy.dnsNames, config.proxy.ipAddresses, config.proxy.url);
    const lifetimeMs = config.proxy.certificateLifetime;
    const issue = () => ca.issue({ commonName: names.dnsNames[0]!, usage: 'server', validFor: { seconds: Math.floor(lifetimeMs / 1000) }, ...names });
    const serving = await issue();
    this.proxy = await ProxyThread.start({
      tls: serving,
      destination: config.destination,
      issuer: config.issuer,
      keys: this.keys,
      upstream: await upstreamFromKubeConfig(this.proxyConfig),
      listen: splitAddress(config.proxy.listen),
      logger: this.logger,
      // As an error the proxy did not handle would have ended the process: the kubelet restarts it.
      onFailure: (error) => {
        this.logger.fatal({ err: error.message }, 'the proxy thread failed');
        process.exit(1);
      },
    });
    // Renewed at a third of its lifetime (daily for the default 30 days), in place: open
    // connections keep the certificate they began with.
    this.renewer = new ServingCertRenewer({
      program: 'connector',
      renewEveryMs: Math.min(lifetimeMs / 3, 24 * 3_600_000),
      issue,
      use: (pair) => this.proxy!.useCertificate(pair),
      logger: this.logger,
      registry: this.registry,
    });
    this.renewer.start(serving);

    this.registration = new Registration({
      destination: config.destination,
      ...(config.proxy.url ? { url: config.proxy.url } : {}),
      caBundle: ca.cert,
      apiServer: await reportedApiServer(config.apiServer, this.spokeConfig),
      hub: new Applier(this.hubConfig, fieldManager, resources),
      spokeConfig: this.spokeConfig,
      spoke: this.spoke,
      readSpec: async () => {
        const { group, version, plural } = resources.Destination;
        const custom = this.hubConfig.makeApiClient(CustomObjectsApi);
        return ((await custom.getClusterCustomObject({ group, version, plural, name: config.destination })) as Destination).spec;
      },
      protectedNamespaces: this.protectedNamespaces,
      logger: this.logger,
    });
    if (this.elector) void this.elector.run();
    else {
      const stop = new AbortController();
      this.soloTerm = { stop, done: this.lead(stop.signal) };
    }
    this.started = true;
    this.logger.info({ proxy: this.proxy.address, url: config.proxy.url }, 'infra-connector started');
  }

  async stop(): Promise<void> {
    this.started = false;
    // Releases the Lease once the term's work has stopped, so a standby takes over at once.
    await this.elector?.stop();
    this.soloTerm?.stop.abort();
    await this.soloTerm?.done;
    this.hubCredential?.stop();
    this.renewer?.stop();
    this.keys.stop();
    await this.proxy?.stop();
    const { namespaces, clusterRoles, clusterRoleBindings, roleBindings } = this.spoke;
    await Promise.all([this.grants, namespaces, clusterRoles, clusterRoleBindings, roleBindings].map((i) => i.stop()));
    await Promise.all([this.metricsServer, this.secureMetrics].filter((s) => s !== undefined).map((s) => close(s)));
  }

  /** The leader's work, until the signal aborts: heartbeat the Destination and keep the bindings. */
  private async lead(signal: AbortSignal): Promise<void> {
    this.logger.info('leading: registering the destination and syncing RBAC');
    // The first heartbeat reads the Destination's allowGrantsIn, which every reconcile needs.
    await this.registration!.start();
    if (!signal.aborted) this.rbac.start();
    if (!signal.aborted) await once(signal, 'abort');
    this.registration!.stop();
    await this.rbac.stop();
  }
}
