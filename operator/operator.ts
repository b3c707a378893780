// infra-operator, assembled: hub caches and the auth API on every replica; controllers,
// key rotation and APIService registration on the leader only.
import { once } from 'node:events';
import type { Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { CoreV1Api, KubernetesObjectApi, PatchStrategy, type KubeConfig } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { group as authGroup, version as authVersion } from '../api/auth/v1alpha1/types.ts';
import { Applier } from '../lib/apply.ts';
import { createAuditLog } from '../lib/audit.ts';
import { Controller, ControllerMetrics } from '../lib/controller/controller.ts';
import { errorMessage } from '../lib/errors.ts';
import { Events } from '../lib/events.ts';
import { withoutPersonalData } from './events.ts';
import { statusCode } from '../lib/kube.ts';
import { LeaderElector } from '../lib/leaderelection.ts';
import type { Logger } from '../lib/log.ts';
import { collectProcessMetrics } from '../lib/process-metrics.ts';
import type { CertificateAuthority, PemPair } from '../lib/pki.ts';
import { close, healthServer, listen } from '../lib/serve.ts';
import { listenSecureMetrics } from '../lib/secure-metrics.ts';
import { RestClient } from '../lib/rest.ts';
import type { Identity } from './access.ts';
import type { TokenIssuer } from './authapi/deps.ts';
import { ConnectorIdentities, hubAddress } from './connector-identity.ts';
import type { OperatorConfig } from './config.ts';
import { fieldManager, type ControllerContext } from './controllers/context.ts';
import { destinationController } from './controllers/destination.ts';
import { grantController } from './controllers/grant.ts';
import { groupController } from './controllers/group.ts';
import { providerController } from './controllers/provider.ts';
import { webhookNotifiers, type Notifier } from './requests/notifications/notifications.ts';
import { userController } from './controllers/user.ts';
import { accessRequestController } from './controllers/access-request.ts';
import { RequestTransitions } from './requests/transitions.ts';
import { LoginThrottle } from './credentials/lockout.ts';
import { PasswordSecrets } from './credentials/password-secrets.ts';
import { CredentialStore } from './credentials/store.ts';
import { readFrontProxyTrust, type FrontProxyTrust } from './frontend/authenticate.ts';
import { createDoors, updateDoorTLS, type Doors } from './frontend/doors.ts';
import { Hub } from './hub.ts';
import type { IdentityDeps } from './identity/deps.ts';
import { ProviderClients } from './identity/providers.ts';
import { secretSealer } from './identity/sealing.ts';
import type { StoredSecret } from './secret-refs.ts';
import { IdentityUsers } from './identity/users.ts';
import { Verifier } from './identity/verification.ts';
import { ServingCertRenewer } from '../lib/serving-renewer.ts';
import { ensureServingCA, issueServingCert, servingNames, servingRenewMs } from './serving.ts';
import { issueToken } from '../api/tokens.ts';
import { SigningKeyStore } from './signing/store.ts';
import { resources } from '../api/v1alpha1/types.ts';

export const apiServiceName = `${authVersion}.${authGroup}`;
const trustRefreshMs = 60_000;

export class Operator {
  private readonly config: OperatorConfig;
  private readonly kubeConfig: KubeConfig;
  private readonly logger: Logger;
  private readonly registry = new Registry();
  private readonly hub: Hub;
  private readonly keys: SigningKeyStore;
  private readonly credentials: CredentialStore;
  private readonly elector: LeaderElector | undefined;
  private readonly controllers: Controller[];
  private readonly identity: IdentityDeps;
  private readonly verifier: Verifier;
  private readonly notifications: Notifier;
  private readonly timers: NodeJS.Timeout[] = [];
  private doors: Doors | undefined;
  private metricsServer: HttpServer | undefined;
  private secureMetrics: HttpsServer | undefined;
  private trust: FrontProxyTrust | undefined;
  private serving: PemPair | undefined;
  private servingCA: CertificateAuthority | undefined;
  private renewer: ServingCertRenewer | undefined;
  private readonly core: CoreV1Api;
  /** The audit.k8s.io Event lines on stdout (ADR 18). */
  private readonly auditTrail = createAuditLog('infra-operator');
  private readonly transitions: RequestTransitions;
  private ready = false;

  constructor(config: OperatorConfig, kubeConfig: KubeConfig, logger: Logger) {
    this.config = config;
    this.kubeConfig = kubeConfig;
    this.logger = logger;
    this.core = kubeConfig.makeApiClient(CoreV1Api);
    collectProcessMetrics(this.registry);
    this.hub = new Hub(kubeConfig, config.namespace, logger);
    this.keys = new SigningKeyStore(
      kubeConfig,
      config.namespace,
      { rotationIntervalMs: config.tokens.keyRotationInterval, maxTokenLifetimeMs: config.tokens.lifetime, clockSkewMs: config.tokens.clockSkew },
      logger,
      this.auditTrail,
    );
    this.credentials = new CredentialStore(
      kubeConfig,
      config.namespace,
      this.hub,
      {
        sessionLifetimeMs: config.sessions.lifetime,
        sessionInactivityTimeoutMs: config.sessions.inactivityTimeout,
        maxSessionsPerUser: config.sessions.maxPerUser,
        maxAccessKeysPerUser: config.accessKeys.maxPerUser,
        accessKeyMaxLifetimeMs: config.accessKeys.maxLifetime,
      },
      logger,
    );
    this.notifications = webhookNotifiers(config.notifications, {
      namespace: config.namespace,
      readSecret: (name, key) => this.readSecret(name, key),
      registry: this.registry,
      logger,
    });
    const ctx: ControllerContext = {
      hub: this.hub,
      applier: new Applier(kubeConfig, fieldManager, resources),
      events: withoutPersonalData(new Events(kubeConfig, 'infra-operator', logger)),
      metrics: new ControllerMetrics(this.registry),
      logger,
      audit: logger.child({ audit: true }),
      auditTrail: this.auditTrail,
      readSecret: (name, key) => this.readSecret(name, key),
      readStoredSecret: (name) => this.readStoredSecret(name),
      notifications: this.notifications,
      now: () => new Date(),
    };
    this.identity = {
      hub: this.hub,
      credentials: this.credentials,
      clients: new ProviderClients({ readStoredSecret: (name) => this.readStoredSecret(name) }),
      users: new IdentityUsers(kubeConfig, this.hub),
      sealer: secretSealer(kubeConfig, config.namespace),
      events: ctx.events,
      audit: ctx.audit,
      logger,
      verifyIntervalMs: config.identity.verifyInterval,
      outageGraceMs: config.identity.outageGrace,
      now: () => new Date(),
    };
    this.verifier = new Verifier(this.identity);
    this.transitions = new RequestTransitions({
      kubeConfig,
      events: ctx.events,
      audit: ctx.audit,
      logger,
      now: ctx.now,
      onTransition: (transition) => this.notifications.notify({ ...transition, at: ctx.now() }),
    });
    this.controllers = [
      grantController(ctx),
      userController(ctx, this.credentials),
      groupController(ctx),
      providerController(ctx, { clients: this.identity.clients, credentials: this.credentials, recheckIntervalMs: config.identity.verifyInterval }),
      destinationController(ctx),
      accessRequestController(ctx, {
        kubeConfig,
        transitions: this.transitions,
        pendingTimeoutMs: config.accessRequests.pendingTimeout,
        retentionMs: config.accessRequests.retention,
      }),
    ];
    if (config.leaderElection.enabled) {
      this.elector = new LeaderElector({
        kubeConfig,
        namespace: config.namespace,
        name: config.leaderElection.leaseName,
        identity: config.leaderElection.identity ?? `${hostname()}-${process.pid}`,
        leaseDurationMs: config.leaderElection.leaseDuration,
        renewDeadlineMs: config.leaderElection.renewDeadline,
        retryPeriodMs: config.leaderElection.retryPeriod,
        logger,
        onStartedLeading: (signal) => this.lead(signal),
        onStoppedLeading: () => logger.info('stopped leading'),
      });
    }
  }

  /** Addresses the servers listen on (ports resolved), once start() has returned. */
  get addresses(): { public: AddressInfo; aggregated: AddressInfo; metrics: AddressInfo } {
    return {
      public: this.doors!.public.address() as AddressInfo,
      aggregated: this.doors!.aggregated.address() as AddressInfo,
      metrics: this.metricsServer!.address() as AddressInfo,
    };
  }

  async start(): Promise<void> {
    const { config, logger } = this;
    this.metricsServer = await listen(
      healthServer(this.registry, () =>
        this.ready && this.hub.synced && this.keys.loaded ? this.renewer?.readiness() : 'caches, signing keys or servers are still starting',
      ),
      config.listen.metrics,
    );
    this.secureMetrics = await listenSecureMetrics(config.listen.secureMetrics, {
      metrics: this.registry,
      api: new RestClient(this.kubeConfig),
      logger,
      dnsNames: [`infra-operator-metrics.${config.namespace}.svc`, 'localhost'],
    });
    await this.hub.start();
    await this.keys.ensure();
    this.keys.start({ rotate: () => this.elector?.isLeader ?? true });

    const ca = (this.servingCA = await ensureServingCA(this.kubeConfig, config.namespace));
    const names = servingNames(config.apiService.serviceName, config.namespace, config.publicURL);
    this.serving = await issueServingCert(ca, names);
    this.trust = await this.frontProxyTrust();

    const events = new Events(this.kubeConfig, 'infra-operator', logger);
    const audit = logger.child({ audit: true });
    const tokens: TokenIssuer = {
      issue: (identity: Identity, destination: string) =>
        issueToken({
          keys: this.keys.keys(),
          issuer: config.publicURL,
          audience: destination,
          subject: identity.email,
          groups: identity.groups,
          lifetimeMs: config.tokens.lifetime,
        }),
    };
    this.doors = createDoors({
      deps: {
        hub: this.hub,
        credentials: this.credentials,
        tokens,
        bootstrapAdmins: config.bootstrapAdmins,
        readSecret: (name, key) => this.readSecret(name, key),
        events,
        audit,
        auditTrail: this.auditTrail,
        logger,
        identity: this.identity,
        verifier: this.verifier,
        throttle: new LoginThrottle({
          maxFailures: config.logins.maxFailures,
          maxFailuresPerAddress: config.logins.maxFailuresPerAddress,
          lockoutMs: config.logins.lockoutDuration,
        }),
        passwords: new PasswordSecrets(this.kubeConfig, config.namespace),
      },
      management: {
        hub: this.hub,
        kubeConfig: this.kubeConfig,
        namespace: config.namespace,
        bootstrapAdmins: config.bootstrapAdmins,
        connectors: new ConnectorIdentities(this.kubeConfig, config.namespace, hubAddress(this.kubeConfig, config.connectors)),
        bootstrapLifetimeMs: config.connectors.bootstrapLifetime,
        audit,
        logger,
      },
      requests: {
        hub: this.hub,
        kubeConfig: this.kubeConfig,
        bootstrapAdmins: config.bootstrapAdmins,
        transitions: this.transitions,
        logger,
        now: () => new Date(),
      },
      serving: this.serving,
      trust: () => this.trust!,
      issuer: config.publicURL,
      jwks: () => this.keys.verifyKeys(),
      rateLimit: config.rateLimit,
      trustedProxies: config.trustedProxies,
    });
    await listen(this.doors.public, config.listen.public);
    await listen(this.doors.aggregated, config.listen.aggregated);

    this.timers.push(setInterval(() => void this.refreshTrust(), trustRefreshMs));
    for (const timer of this.timers) timer.unref();
    this.renewer = new ServingCertRenewer({
      program: 'operator',
      renewEveryMs: servingRenewMs,
      issue: () => issueServingCert(ca, names),
      use: (pair) => {
        updateDoorTLS(this.doors!, pair, this.trust!);
        this.serving = pair;
      },
      logger,
      registry: this.registry,
    });
    this.renewer.start(this.serving);

    if (this.elector) void this.elector.run();
    else void this.lead(new AbortController().signal);
    this.ready = true;
    logger.info({ addresses: this.addresses, publicURL: config.publicURL }, 'infra-operator started');
  }

  async stop(): Promise<void> {
    this.ready = false;
    for (const timer of this.timers) clearInterval(timer);
    this.renewer?.stop();
    await this.elector?.stop();
    this.keys.stop();
    await this.notifications.stop();
    await Promise.all([this.doors?.public, this.doors?.aggregated, this.metricsServer, this.secureMetrics].filter((s) => s !== undefined).map((s) => close(s)));
    await this.hub.stop();
  }

  /** The leader's work: controllers, APIService registration; until the signal aborts. */
  private async lead(signal: AbortSignal): Promise<void> {
    this.logger.info('leading: starting controllers');
    for (const c of this.controllers) c.start();
    this.verifier.start();
    this.credentials.startCollecting(this.config.sessions.collectInterval);
    if (this.config.apiService.register)
      await this.registerAPIService().catch((err: unknown) => this.logger.error({ err: errorMessage(err) }, 'registering the APIService failed'));
    if (!signal.aborted) await once(signal, 'abort');
    this.credentials.stopCollecting();
    await Promise.all([...this.controllers.map((c) => c.stop()), this.verifier.stop()]);
  }

  private async registerAPIService(): Promise<void> {
    const api = KubernetesObjectApi.makeApiClient(this.kubeConfig);
    const ca = this.servingCA!;
    await api.patch(
      {
        apiVersion: 'apiregistration.k8s.io/v1',
        kind: 'APIService',
        metadata: { name: apiServiceName, labels: { 'app.kubernetes.io/part-of': 'infra' } },
        spec: {
          group: authGroup,
          version: authVersion,
          service: { namespace: this.config.namespace, name: this.config.apiService.serviceName, port: this.config.apiService.servicePort },
          caBundle: Buffer.from(ca.cert).toString('base64'),
          groupPriorityMinimum: 1000,
          versionPriority: 15,
        },
      } as never,
      undefined,
      undefined,
      fieldManager,
      true,
      PatchStrategy.ServerSideApply,
    );
    this.logger.info({ apiService: apiServiceName }, 'APIService registered');
  }

  private async frontProxyTrust(): Promise<FrontProxyTrust> {
    const trust = await readFrontProxyTrust(this.kubeConfig);
    // An empty list in the hub means "any certificate from the CA"; the configured names narrow that.
    return trust.allowedNames.length > 0 ? trust : { ...trust, allowedNames: this.config.apiService.allowedNames };
  }

  private async refreshTrust(): Promise<void> {
    try {
      const trust = await this.frontProxyTrust();
      if (trust.ca !== this.trust?.ca || trust.allowedNames.join() !== this.trust.allowedNames.join()) {
        this.trust = trust;
        updateDoorTLS(this.doors!, this.serving!, trust);
        this.logger.info('front-proxy trust updated');
      }
    } catch (err) {
      this.logger.warn({ err: errorMessage(err) }, 'reading the front-proxy trust failed; keeping the last one');
    }
  }

  private async readSecret(name: string, key: string): Promise<string | undefined> {
    return (await this.readStoredSecret(name))?.data[key];
  }

  private async readStoredSecret(name: string): Promise<StoredSecret | undefined> {
    try {
      const { metadata, data = {} } = await this.core.readNamespacedSecret({ name, namespace: this.config.namespace });
      return {
        labels: metadata?.labels ?? {},
        annotations: metadata?.annotations ?? {},
        data: Object.fromEntries(Object.entries(data).map(([key, value]) => [key, Buffer.from(value, 'base64').toString()])),
      };
    } catch (err) {
      if (statusCode(err) === 404) return undefined;
      throw err;
    }
  }
}
