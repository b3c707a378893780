// infra-connector's configuration (file, environment, flags; see lib/config.ts).
import { z } from 'zod';
import { destinationNameProblem, dnsLabel } from '../api/grants.ts';
import { duration } from '../api/duration.ts';
import { leaderElectionConfig } from '../api/leader-election.ts';
import { listenAddress, loadProgramConfig, secureMetricsAddress, programUsage, type ParsedArgs, type Setting } from '../lib/config.ts';

export const connectorConfigSchema = z
  .object({
    destination: z.string().superRefine((name, ctx) => {
      const problem = destinationNameProblem(name);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }),
    hubKubeconfig: z
      .string()
      .min(1)
      .optional()
      .describe('a kubeconfig for the hub; when absent the connector uses its own renewing hub credential, from bootstrapToken (docs/connector.md)'),
    bootstrapToken: z
      .string()
      .min(1)
      .optional()
      .describe('the single-use bootstrap credential `infra destinations add` prints, exchanged once for a hub credential kept in a spoke Secret'),
    hubCredential: z
      .object({
        /** How long each hub token the connector asks for lives; Kubernetes allows 10 minutes or more. */
        lifetime: duration.prefault('1h').refine((ms) => ms >= 600_000 && ms <= 86_400_000, 'must be between 10m (Kubernetes minimum) and 24h'),
        /** How often it is renewed; half its remaining life when absent or when that is sooner. */
        renewEvery: duration.refine((ms) => ms >= 1_000, 'must be 1s or more').optional(),
      })
      .prefault({}),
    kubeconfig: z.string().optional().describe('the spoke; in-cluster config when absent'),
    issuer: z
      .url({ protocol: /^https$/, error: "must be the operator's public https:// URL (its publicURL), the issuer of Infra tokens" })
      .transform((url) => url.replace(/\/+$/, '')),
    issuerCAFile: z.string().optional().describe("PEM CA for the operator's endpoint when it is not publicly trusted"),
    namespace: z.string().regex(dnsLabel, 'must be a namespace name (a DNS label)').default('infra-system'),
    proxy: z
      .object({
        listen: listenAddress.default('0.0.0.0:8443'),
        url: z
          .url({ protocol: /^https$/, error: 'must be the https:// URL at which users reach this proxy (LoadBalancer, Ingress or NodePort address)' })
          .optional(),
        kubeconfig: z
          .string()
          .optional()
          .describe(
            "the proxy's identity in the spoke, which may only impersonate (config/connector/rbac.yaml); the spoke kubeconfig's identity when absent, which then holds both the RBAC sync's and the proxy's powers",
          ),
        dnsNames: z.array(z.string().min(1)).default([]),
        ipAddresses: z.array(z.ipv4().or(z.ipv6())).default([]),
        /** How long each serving certificate the proxy issues itself is valid; it is renewed well before, while serving. */
        certificateLifetime: duration.prefault('30d').refine((ms) => ms >= 3_000, 'must be 3s or more'),
      })
      .prefault({}),
    apiServer: z
      .object({
        url: z
          .url({
            protocol: /^https$/,
            error: "must be the https:// URL at which users reach this cluster's API server, e.g. https://prod.k8s.example.com:6443",
          })
          .transform((url) => url.replace(/\/+$/, ''))
          .optional()
          .describe('reported for Direct trust; the API server the connector talks to when absent (in a cluster: the in-cluster address)'),
        caFile: z.string().min(1).optional().describe("PEM CA for that URL's serving certificate when it is not the spoke kubeconfig's CA"),
      })
      .prefault({}),
    listen: z
      .object({
        metrics: listenAddress.default('0.0.0.0:8080'),
        secureMetrics: secureMetricsAddress,
      })
      .prefault({}),
    /**
     * Of several replicas, the one holding the Lease (in `namespace` of the spoke) syncs RBAC
     * and heartbeats the Destination; every replica serves the proxy. The defaults let a
     * standby take over within ~9 s of the leader dying, leaving room in the 15 s promise
     * for the new leader's first reconciles (docs/connector.md).
     */
    leaderElection: leaderElectionConfig('infra-connector'),
    logLevel: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  })
  .strict();

export type ConnectorConfig = z.output<typeof connectorConfigSchema>;

const settings: Record<string, Setting> = {
  destination: { path: 'destination', env: 'INFRA_DESTINATION' },
  'hub-kubeconfig': { path: 'hubKubeconfig', env: 'INFRA_HUB_KUBECONFIG' },
  'bootstrap-token': { path: 'bootstrapToken', env: 'INFRA_BOOTSTRAP_TOKEN' },
  kubeconfig: { path: 'kubeconfig', env: 'KUBECONFIG' },
  issuer: { path: 'issuer', env: 'INFRA_ISSUER' },
  'issuer-ca-file': { path: 'issuerCAFile', env: 'INFRA_ISSUER_CA_FILE' },
  namespace: { path: 'namespace', env: 'INFRA_NAMESPACE' },
  'proxy-listen': { path: 'proxy.listen', env: 'INFRA_PROXY_LISTEN' },
  'proxy-url': { path: 'proxy.url', env: 'INFRA_PROXY_URL' },
  'proxy-kubeconfig': { path: 'proxy.kubeconfig', env: 'INFRA_PROXY_KUBECONFIG' },
  'api-server-url': { path: 'apiServer.url', env: 'INFRA_API_SERVER_URL' },
  'api-server-ca-file': { path: 'apiServer.caFile', env: 'INFRA_API_SERVER_CA_FILE' },
  'listen-metrics': { path: 'listen.metrics', env: 'INFRA_LISTEN_METRICS' },
  'listen-secure-metrics': { path: 'listen.secureMetrics', env: 'INFRA_LISTEN_SECURE_METRICS' },
  'leader-identity': { path: 'leaderElection.identity', env: 'POD_NAME' },
  'log-level': { path: 'logLevel', env: 'LOG_LEVEL' },
};

export const connectorUsage = programUsage(
  'infra-connector',
  "Keeps this cluster's RBAC equal to the hub's Grants for one destination, and\nauthenticates users with Infra tokens at an impersonating HTTPS proxy.",
  'docs/connector.md',
  settings,
);

export function loadConnectorConfig(argv: string[], env: NodeJS.ProcessEnv): ParsedArgs<ConnectorConfig> {
  return loadProgramConfig(argv, env, settings, connectorConfigSchema, connectorUsage);
}
