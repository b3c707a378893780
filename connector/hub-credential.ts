// The connector's own hub identity (docs/adr/0021-connector-bootstrap.md). On first start
// it exchanges the bootstrap credential from `infra destinations add` at the operator for
// a bound, expiring token of its ServiceAccount connector-<destination> in the hub; from
// then on it renews that token itself, straight at the hub's API server, long before it
// expires. The current token lives in a spoke Secret, so a restart of the connector, the
// operator or the hub costs nothing: the stored token is used until renewed.
import { createHash } from 'node:crypto';
import { request } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeConfig, type User } from '@kubernetes/client-node';
import { credentialPath, type ConnectorCredential, type CredentialRequest } from '../api/connector-bootstrap.ts';
import { errorMessage } from '../lib/errors.ts';
import { poolConnections, statusCode } from '../lib/kube.ts';
import type { Logger } from '../lib/log.ts';
import { RestClient } from '../lib/rest.ts';

export const hubCredentialSecret = 'infra-connector-hub-credential';
const authProviderName = 'infra-hub-credential';
/** Retries of a failed renewal start here and double up to a minute. */
const firstRetryMs = 2_000;
const maxRetryMs = 60_000;

export interface HubCredentialOptions {
  destination: string;
  /** The spoke namespace holding the credential Secret. */
  namespace: string;
  /** The operator's public URL, where the bootstrap credential is exchanged. */
  issuer: string;
  issuerCA?: string;
  bootstrapToken?: string;
  lifetimeSeconds: number;
  /** How often to renew; half the token's remaining life when that is sooner. */
  renewEveryMs: number;
  spoke: KubeConfig;
  logger: Logger;
}

interface StoredCredential extends ConnectorCredential {
  /** Which bootstrap credential this identity came from: a new one replaces it, the same one is never spent twice. */
  bootstrapDigest: string;
}

const digest = (token: string) => createHash('sha256').update(token.trim()).digest('hex');

/** A refused exchange or an unusable stored credential: the connector cannot start, and says why. */
class HubCredentialError extends Error {
  override name = 'HubCredentialError';
}

export class HubCredential {
  /** The hub, authenticated with whatever token is current: every request reads it afresh. */
  readonly kubeConfig: KubeConfig;
  private current: StoredCredential;
  private readonly options: HubCredentialOptions;
  private readonly spoke: RestClient;
  private timer: NodeJS.Timeout | undefined;
  private retryMs = firstRetryMs;

  private constructor(options: HubCredentialOptions, current: StoredCredential) {
    this.options = options;
    this.current = current;
    this.spoke = new RestClient(options.spoke);
    this.kubeConfig = new KubeConfig();
    this.kubeConfig.addAuthenticator({
      isAuthProvider: (user: User) => (user.authProvider as { name?: string } | undefined)?.name === authProviderName,
      applyAuthentication: async (_user, opts) => {
        const request = opts as { headers?: Record<string, unknown> };
        request.headers = { ...request.headers, Authorization: `Bearer ${this.current.token}` };
      },
    });
    this.kubeConfig.loadFromOptions({
      clusters: [{ name: 'hub', server: current.server, ...(current.certificateAuthorityData ? { caData: current.certificateAuthorityData } : {}) }],
      users: [{ name: current.serviceAccount, authProvider: { name: authProviderName, config: {} } }],
      contexts: [{ name: 'hub', cluster: 'hub', user: current.serviceAccount }],
      currentContext: 'hub',
    });
    poolConnections(this.kubeConfig);
  }

  /**
   * The stored credential, or a new one from the bootstrap credential when none is stored
   * or the bootstrap credential is a newer one. Writes nothing in the spoke unless the
   * exchange succeeded.
   */
  static async obtain(options: HubCredentialOptions): Promise<HubCredential> {
    const spoke = new RestClient(options.spoke);
    const readStored = async () => {
      const secret = await spoke.get<{ data?: Record<string, string> }>(secretPath(options.namespace)).catch((err: unknown) => {
        if (statusCode(err) === 404) return undefined;
        throw err;
      });
      return { exists: secret !== undefined, stored: decode(secret?.data) };
    };
    const { exists, stored } = await readStored();
    const again = `run \`infra destinations add ${options.destination}\` and give the connector the bootstrap credential it prints`;
    const { bootstrapToken } = options;
    if (bootstrapToken && stored?.bootstrapDigest !== digest(bootstrapToken)) {
      let credential: ConnectorCredential;
      try {
        credential = await exchange(options, bootstrapToken);
      } catch (err) {
        const winner = await exchangedByAnotherReplica(readStored, digest(bootstrapToken));
        if (!winner) throw err;
        options.logger.info({ serviceAccount: winner.serviceAccount }, 'another replica exchanged the bootstrap credential; using its hub credential');
        return new HubCredential(options, winner);
      }
      const fresh = { ...credential, bootstrapDigest: digest(bootstrapToken) };
      await writeSecret(spoke, options.namespace, fresh, exists);
      options.logger.info({ serviceAccount: fresh.serviceAccount, expiresAt: fresh.expiresAt }, 'exchanged the bootstrap credential for a hub credential');
      return new HubCredential(options, fresh);
    }
    if (!stored)
      throw new HubCredentialError(`no hub credential: set bootstrapToken (INFRA_BOOTSTRAP_TOKEN) or hubKubeconfig; to get a bootstrap credential, ${again}`);
    if (Date.parse(stored.expiresAt) <= Date.now()) {
      throw new HubCredentialError(
        `the hub credential in Secret ${options.namespace}/${hubCredentialSecret} expired at ${stored.expiresAt} (the connector was stopped longer than its lifetime): ${again}`,
      );
    }
    return new HubCredential(options, stored);
  }

  start(): void {
    this.schedule(Math.min(this.options.renewEveryMs, (Date.parse(this.current.expiresAt) - Date.now()) / 2));
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  /** A new token for the same ServiceAccount, asked of the hub with the current one. */
  async renew(): Promise<void> {
    const { namespace, serviceAccount } = this.current;
    const answer = await new RestClient(this.kubeConfig).post<{ status: { token: string; expirationTimestamp: string } }>(
      `/api/v1/namespaces/${namespace}/serviceaccounts/${serviceAccount}/token`,
      { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: this.options.lifetimeSeconds } },
    );
    this.current = { ...this.current, token: answer.status.token, expiresAt: answer.status.expirationTimestamp };
    await writeSecret(this.spoke, this.options.namespace, this.current, true);
    this.options.logger.info({ serviceAccount, expiresAt: this.current.expiresAt }, 'hub credential renewed');
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(
      () => {
        this.renew().then(
          () => {
            this.retryMs = firstRetryMs;
            this.start();
          },
          (err: unknown) => {
            this.options.logger.warn(
              { err: errorMessage(err), expiresAt: this.current.expiresAt, retryInMs: this.retryMs },
              'hub credential renewal failed; will retry',
            );
            this.schedule(this.retryMs);
            this.retryMs = Math.min(this.retryMs * 2, maxRetryMs);
          },
        );
      },
      Math.max(delayMs, 0),
    );
    this.timer.unref();
  }
}

/**
 * Replicas starting together share one bootstrap credential, and only one exchange of it
 * succeeds: a replica whose exchange was refused waits a little for the winner to store
 * its credential in the Secret, and uses that.
 */
async function exchangedByAnotherReplica(
  readStored: () => Promise<{ stored: StoredCredential | undefined }>,
  bootstrapDigest: string,
): Promise<StoredCredential | undefined> {
  for (let attempt = 0; attempt < 10; attempt++) {
    const { stored } = await readStored();
    if (stored?.bootstrapDigest === bootstrapDigest) return stored;
    await sleep(1_000);
  }
  return undefined;
}

const secretPath = (namespace: string, name = hubCredentialSecret) => `/api/v1/namespaces/${namespace}/secrets${name ? `/${name}` : ''}`;

const fields = ['server', 'certificateAuthorityData', 'namespace', 'serviceAccount', 'token', 'expiresAt', 'bootstrapDigest'] as const;

function decode(data: Record<string, string> | undefined): StoredCredential | undefined {
  const text = (key: string) => (data?.[key] ? Buffer.from(data[key], 'base64').toString() : undefined);
  const values = Object.fromEntries(fields.map((f) => [f, text(f)]));
  if (fields.some((f) => f !== 'certificateAuthorityData' && values[f] === undefined)) return undefined;
  return { kind: 'ConnectorCredential', ...(values as Record<string, string>) } as StoredCredential;
}

async function writeSecret(spoke: RestClient, namespace: string, credential: StoredCredential, exists: boolean): Promise<void> {
  const data = Object.fromEntries(fields.flatMap((f) => (credential[f] === undefined ? [] : [[f, Buffer.from(credential[f]).toString('base64')]])));
  const secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: hubCredentialSecret, namespace, labels: { 'app.kubernetes.io/part-of': 'infra' } },
    type: 'infrahq.com/connector-hub-credential',
    data,
  };
  if (exists) await spoke.mergePatch(secretPath(namespace), { data });
  else await spoke.create(secretPath(namespace, ''), secret, 'infra-connector');
}

/** POSTs the bootstrap credential to the operator; its refusal (expired, used, another destination's) becomes the error. */
function exchange(options: HubCredentialOptions, bootstrapToken: string): Promise<ConnectorCredential> {
  const url = `${options.issuer}${credentialPath(options.destination)}`;
  const body = JSON.stringify({ expirationSeconds: options.lifetimeSeconds } satisfies CredentialRequest);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        ...(options.issuerCA ? { ca: options.issuerCA } : {}),
        headers: { authorization: `Bearer ${bootstrapToken.trim()}`, 'content-type': 'application/json', accept: 'application/json' },
        timeout: 15_000,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          const parsed = parseJSON(text) as { kind?: string; message?: string } | undefined;
          if (res.statusCode === 201 && parsed?.kind === 'ConnectorCredential') return resolve(parsed as ConnectorCredential);
          reject(
            new HubCredentialError(
              `the operator at ${options.issuer} refused the bootstrap credential: ${parsed?.message ?? `HTTP ${res.statusCode}: ${text.slice(0, 200)}`}`,
            ),
          );
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within 15s`)));
    req.on('error', (err) => reject(new HubCredentialError(`could not exchange the bootstrap credential at ${options.issuer}: ${errorMessage(err)}`)));
    req.end(body);
  });
}

function parseJSON(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
