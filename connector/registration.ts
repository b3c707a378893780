// Registration and heartbeat: the connector keeps its Destination in the hub current —
// where its proxy is, which CA signs it, where its API server is (for Direct trust), the
// cluster's version, namespaces and roles —
// and proves it is alive with status.lastSeenAt. Each heartbeat also reads back what an
// admin set on the Destination: the protected namespaces it allows Grants in.
import { VersionApi, type KubeConfig } from '@kubernetes/client-node';
import type { Applier } from '../lib/apply.ts';
import { errorMessage } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';
import type { SpokeInformers } from './rbac/controller.ts';
import type { DestinationSpec, resources } from '../api/v1alpha1/types.ts';
import type { ProtectedNamespaces } from './rbac/protected-namespaces.ts';
import type { ReportedApiServer } from './api-server.ts';

export const heartbeatIntervalMs = 30_000;

export interface RegistrationOptions {
  destination: string;
  /** The proxy URL users reach; when absent the Destination's url is left to an admin. */
  url?: string;
  /** PEM CA bundle for the proxy's serving certificate. */
  caBundle: string;
  /** The API server kubectl reaches when the Destination's trust is Direct, if it has an https:// address. */
  apiServer: ReportedApiServer | undefined;
  hub: Applier<typeof resources>;
  spokeConfig: KubeConfig;
  spoke: Pick<SpokeInformers, 'namespaces' | 'clusterRoles'>;
  /** The Destination's spec as the hub has it now. */
  readSpec: () => Promise<DestinationSpec>;
  /** Told the Destination's spec.allowGrantsIn on every heartbeat. */
  protectedNamespaces: ProtectedNamespaces;
  logger: Logger;
  intervalMs?: number;
}

export class Registration {
  private readonly options: RegistrationOptions;
  private timer: NodeJS.Timeout | undefined;
  private kubernetesVersion: string | undefined;
  private lastSuccess = 0;

  constructor(options: RegistrationOptions) {
    this.options = options;
  }

  /** When the hub last accepted a heartbeat (ms since epoch; 0 = never). */
  get lastHeartbeat(): number {
    return this.lastSuccess;
  }

  /** Heartbeats now and every interval; resolves once the first heartbeat has succeeded or failed. */
  start(): Promise<void> {
    this.timer = setInterval(() => void this.heartbeat(), this.options.intervalMs ?? heartbeatIntervalMs);
    this.timer.unref();
    return this.heartbeat();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  async heartbeat(): Promise<void> {
    const { destination, url, caBundle, apiServer, hub, spoke, logger } = this.options;
    try {
      this.kubernetesVersion ??= (await this.options.spokeConfig.makeApiClient(VersionApi).getCode()).gitVersion;
      await hub.apply('Destination', destination, {
        spec: { kind: 'kubernetes', caBundle: Buffer.from(caBundle).toString('base64'), ...(url ? { url } : {}) },
      });
      this.options.protectedNamespaces.update((await this.options.readSpec()).allowGrantsIn);
      const sorted = (informer: SpokeInformers['namespaces']) =>
        informer
          .list()
          .map((o) => o.metadata!.name!)
          .sort();
      await hub.applyStatus('Destination', destination, {
        connected: true,
        lastSeenAt: new Date().toISOString(),
        ...(apiServer ? { apiServer: { url: apiServer.url, ...(apiServer.ca ? { caBundle: Buffer.from(apiServer.ca).toString('base64') } : {}) } } : {}),
        kubernetesVersion: this.kubernetesVersion,
        namespaces: sorted(spoke.namespaces),
        roles: sorted(spoke.clusterRoles),
      });
      this.lastSuccess = Date.now();
    } catch (err) {
      logger.warn({ destination, err: errorMessage(err) }, 'heartbeat to the hub failed; will retry');
    }
  }
}
