// infra-operator's configuration (file, environment, flags; see lib/config.ts).
import { z } from 'zod';
import { duration } from '../api/duration.ts';
import { dnsLabel } from '../api/grants.ts';
import { leaderElectionConfig } from '../api/leader-election.ts';
import { maxTokenLifetimeMs } from '../api/token-lifetime.ts';
import { trustedProxyProblem } from './frontend/client-address.ts';
import { notificationsConfig } from './requests/notifications/config.ts';
import { listenAddress, loadProgramConfig, secureMetricsAddress, programUsage, type ParsedArgs, type Setting } from '../lib/config.ts';

const email = z.string().regex(/^[^@\s]+@[^@\s]+\.[^@\s]+$/, 'must be an email address');

export const operatorConfigSchema = z
  .object({
    kubeconfig: z.string().optional().describe('kubeconfig of the hub; in-cluster config when absent'),
    namespace: z.string().regex(dnsLabel, 'must be a namespace name (a DNS label)').default('infra-system'),
    publicURL: z
      .url({ protocol: /^https$/, error: 'must be the https:// URL at which users and connectors reach the operator' })
      .transform((url) => url.replace(/\/+$/, '')),
    listen: z
      .object({
        public: listenAddress.default('0.0.0.0:8443'),
        aggregated: listenAddress.default('0.0.0.0:9443'),
        metrics: listenAddress.default('0.0.0.0:8080'),
        secureMetrics: secureMetricsAddress,
      })
      .prefault({}),
    apiService: z
      .object({
        register: z.boolean().default(true),
        serviceName: z.string().regex(dnsLabel).default('infra-operator'),
        servicePort: z.number().int().min(1).max(65535).default(443),
        allowedNames: z.array(z.string().min(1)).min(1).default(['front-proxy-client']),
      })
      .prefault({}),
    bootstrapAdmins: z.array(email).default([]),
    tokens: z
      .object({
        lifetime: duration.prefault('5m').refine((ms) => ms <= maxTokenLifetimeMs, 'must be 10m or less: tokens are short-lived on purpose'),
        keyRotationInterval: duration.prefault('24h'),
        /** How long a retired key outlives the tokens it signed, for verifiers with slow clocks. */
        clockSkew: duration.prefault('1m'),
      })
      .prefault({}),
    sessions: z
      .object({
        lifetime: duration.prefault('12h'),
        inactivityTimeout: duration.prefault('1h'),
        /** Live sessions per user: a new login beyond this ends the user's oldest session. */
        maxPerUser: z.number().int().min(1).default(50),
        /** How often the leader deletes expired and orphaned session and access-key Secrets. */
        collectInterval: duration.prefault('10m').refine((ms) => ms >= 1_000, 'must be 1s or more'),
      })
      .prefault({}),
    accessKeys: z
      .object({
        /** The longest an access key may live; a longer --ttl is refused. */
        maxLifetime: duration.prefault('90d').refine((ms) => ms >= 60_000, 'must be 1m or more'),
        /** Access keys per user: creating one more is refused until one is revoked. */
        maxPerUser: z.number().int().min(1).default(100),
      })
      .prefault({}),
    identity: z
      .object({
        /** How often sessions from identity providers are re-verified upstream (and the most a token waits for it). */
        verifyInterval: duration.prefault('5m').refine((ms) => ms >= 1_000 && ms <= 60 * 60_000, 'must be between 1s and 1h'),
        /** While a provider is unreachable, sessions verified this long past the interval still get tokens. */
        outageGrace: duration.prefault('15m'),
      })
      .prefault({}),
    logins: z
      .object({
        /** Wrong passwords per email before the email is locked. */
        maxFailures: z.number().int().min(1).default(5),
        /** Wrong passwords per client address before the address is locked. */
        maxFailuresPerAddress: z.number().int().min(1).default(20),
        lockoutDuration: duration.prefault('15m'),
      })
      .prefault({}),
    /**
     * Proxies in front of the public door (a load balancer, an ingress): from them, the client
     * address for rate limits and password lockouts is the one they forward in X-Forwarded-For.
     */
    trustedProxies: z
      .array(
        z.string().superRefine((entry, ctx) => {
          const problem = trustedProxyProblem(entry);
          if (problem) ctx.addIssue({ code: 'custom', message: problem });
        }),
      )
      .default([]),
    rateLimit: z
      .object({
        /** Logins, DeviceAuthorizations and unknown bearer keys a client address may send per second, on average. */
        perSecond: z.number().positive().default(1),
        /** How many of them it may send at once. */
        burst: z.number().int().min(1).default(30),
      })
      .prefault({}),
    accessRequests: z
      .object({
        /** A request nobody decides within this long expires, and grants nothing. */
        pendingTimeout: duration.prefault('24h').refine((ms) => ms >= 1_000, 'must be 1s or more'),
        /** How long an ended request (denied, expired, cancelled, revoked) stays as history before it is deleted. */
        retention: duration.prefault('30d').refine((ms) => ms >= 1_000, 'must be 1s or more'),
      })
      .prefault({}),
    /** What `infra destinations add` gives a connector (docs/adr/0021-connector-bootstrap.md). */
    connectors: z
      .object({
        /** The hub API server's address as connectors in spokes reach it; the operator's own kubeconfig's when absent. */
        hubURL: z.url({ protocol: /^https$/, error: "must be the https:// URL at which connectors reach the hub's API server" }).optional(),
        /** PEM CA of the hub's API server for connectors; the operator's own kubeconfig's when absent. */
        hubCAFile: z.string().min(1).optional(),
        /** How long a bootstrap credential may be exchanged when `infra destinations add` does not say. */
        bootstrapLifetime: duration.prefault('1h').refine((ms) => ms >= 1_000 && ms <= 7 * 86_400_000, 'must be between 1s and 7d'),
      })
      .prefault({}),
    leaderElection: leaderElectionConfig('infra-operator'),
    /** Webhooks told about AccessRequest transitions (docs/access-requests.md#notifications). */
    notifications: notificationsConfig.prefault({}),
    logLevel: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  })
  .strict();

export type OperatorConfig = z.output<typeof operatorConfigSchema>;

/** Flags, each mapped to a config path; also read from INFRA_<NAME> (e.g. INFRA_PUBLIC_URL). */
const settings: Record<string, Setting> = {
  kubeconfig: { path: 'kubeconfig', env: 'KUBECONFIG' },
  namespace: { path: 'namespace', env: 'INFRA_NAMESPACE' },
  'public-url': { path: 'publicURL', env: 'INFRA_PUBLIC_URL' },
  'listen-public': { path: 'listen.public', env: 'INFRA_LISTEN_PUBLIC' },
  'listen-aggregated': { path: 'listen.aggregated', env: 'INFRA_LISTEN_AGGREGATED' },
  'listen-metrics': { path: 'listen.metrics', env: 'INFRA_LISTEN_METRICS' },
  'listen-secure-metrics': { path: 'listen.secureMetrics', env: 'INFRA_LISTEN_SECURE_METRICS' },
  'leader-identity': { path: 'leaderElection.identity', env: 'POD_NAME' },
  'bootstrap-admins': { path: 'bootstrapAdmins', env: 'INFRA_BOOTSTRAP_ADMINS', list: true },
  'log-level': { path: 'logLevel', env: 'LOG_LEVEL' },
};

export const operatorUsage = programUsage(
  'infra-operator',
  "Reconciles Infra's custom resources in the hub cluster and serves the auth API.",
  'docs/operator.md',
  settings,
);

export function loadOperatorConfig(argv: string[], env: NodeJS.ProcessEnv): ParsedArgs<OperatorConfig> {
  return loadProgramConfig(argv, env, settings, operatorConfigSchema, operatorUsage);
}
