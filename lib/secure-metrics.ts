// /metrics for scrapers on the pod network (docs/adr/0010-kind-without-a-registry.md,
// "Metrics"): HTTPS, and only for a caller whose bearer token the API server
// authenticates (TokenReview) and authorizes to `get` the non-resource URL /metrics
// (SubjectAccessReview), the gate controller-runtime's secure metrics and kube-rbac-proxy
// put in front of a Prometheus endpoint. It serves /metrics and nothing else: the probes
// stay on the plain health listener (lib/serve.ts).
import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import { errorMessage } from './errors.ts';
import type { Logger } from './log.ts';
import { createCertificateAuthority } from './pki.ts';
import type { RestClient } from './rest.ts';
import { listen, type MetricsSource } from './serve.ts';

export const metricsPath = '/metrics';
/** What a scraper's RBAC must allow, as a ClusterRole rule says it. */
export const metricsRule = 'nonResourceURLs: ["/metrics"], verbs: ["get"]';

export type MetricsVerdict = { allowed: true; user: string } | { allowed: false; status: 401 | 403; reason: string };

interface TokenReview {
  status?: { authenticated?: boolean; error?: string; user?: { username?: string; uid?: string; groups?: string[]; extra?: Record<string, string[]> } };
}
interface SubjectAccessReview {
  status?: { allowed?: boolean; reason?: string };
}

/** Asks the API server who the token is (TokenReview) and whether that user may get /metrics (SubjectAccessReview). */
export async function reviewMetricsAccess(api: RestClient, token: string): Promise<MetricsVerdict> {
  const review = await api.post<TokenReview>('/apis/authentication.k8s.io/v1/tokenreviews', {
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenReview',
    spec: { token },
  });
  const user = review.status?.user;
  if (!review.status?.authenticated || !user?.username) {
    return {
      allowed: false,
      status: 401,
      reason: `the API server did not authenticate the bearer token${review.status?.error ? ` (${review.status.error})` : ''}`,
    };
  }
  const access = await api.post<SubjectAccessReview>('/apis/authorization.k8s.io/v1/subjectaccessreviews', {
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SubjectAccessReview',
    spec: { user: user.username, uid: user.uid, groups: user.groups, extra: user.extra, nonResourceAttributes: { path: metricsPath, verb: 'get' } },
  });
  if (!access.status?.allowed) {
    return {
      allowed: false,
      status: 403,
      reason: `${user.username} may not get ${metricsPath}: bind it to a ClusterRole with the rule ${metricsRule}${access.status?.reason ? ` (${access.status.reason})` : ''}`,
    };
  }
  return { allowed: true, user: user.username };
}

export interface SecureMetricsOptions {
  metrics: MetricsSource;
  /** The API server that reviews scrapers' tokens: the program's own cluster, with its ServiceAccount. */
  api: RestClient;
  logger: Logger;
  /** Names the self-issued serving certificate carries (the pod's, the Service's). */
  dnsNames: string[];
}

/**
 * The HTTPS listener, serving a certificate this process issues itself (scrapers skip its
 * verification, as with controller-runtime's default, or pin it per pod; the bearer token
 * is what authenticates, and it goes only to a scrape target the scraper chose).
 */
export async function secureMetricsServer(options: SecureMetricsOptions): Promise<Server> {
  const { metrics, api, logger } = options;
  const authority = await createCertificateAuthority('infra-metrics');
  const serving = await authority.issue({ commonName: options.dnsNames[0] ?? 'infra-metrics', dnsNames: options.dnsNames, usage: 'server' });
  const refuse = (res: ServerResponse, status: number, message: string) => {
    res.statusCode = status;
    if (status === 401) res.setHeader('WWW-Authenticate', 'Bearer');
    res.end(`${message}\n`);
  };
  return createServer({ cert: [serving.cert, authority.cert].join('\n'), key: serving.key }, (req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== metricsPath) return refuse(res, 404, `this listener serves only ${metricsPath}; the probes are on the health listener`);
    if (req.method !== 'GET') return refuse(res, 405, `${metricsPath} answers GET only`);
    const token = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1];
    if (!token) {
      return refuse(res, 401, `${metricsPath} needs a bearer token: a ServiceAccount token (kubectl create token NAME) whose user may ${metricsRule}`);
    }
    reviewMetricsAccess(api, token)
      .then(async (verdict) => {
        if (!verdict.allowed) {
          logger.info({ path, status: verdict.status, tokenSHA256: createHash('sha256').update(token).digest('hex').slice(0, 12) }, 'metrics scrape refused');
          return refuse(res, verdict.status, verdict.reason);
        }
        res.setHeader('Content-Type', metrics.contentType);
        res.end(await metrics.metrics());
      })
      .catch((err: unknown) => {
        logger.warn({ err: errorMessage(err) }, 'cannot review a metrics scrape with the API server');
        refuse(res, 503, `cannot review the bearer token with the API server: ${errorMessage(err)}`);
      });
  });
}

/** The listener on `address`, or none when the program's config leaves it unset (runs outside a cluster). */
export async function listenSecureMetrics(address: string | undefined, options: SecureMetricsOptions): Promise<Server | undefined> {
  return address === undefined ? undefined : listen(await secureMetricsServer(options), address);
}
