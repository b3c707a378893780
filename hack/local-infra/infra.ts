// A whole Infra installation on a hub and a spoke: operator, the connector's hub identity
// and bootstrap credential (what `infra destinations add` makes), the connector, which
// exchanges it, and a built-in user who can get tokens.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { hashPassword } from '../../operator/credentials/passwords.ts';
import { addDestination, writeConnectorHubKubeconfig } from './destinations.ts';
import { hostServiceObjects } from './host-service.ts';
import { https } from './https.ts';
import { createProxyIdentity, type ProxyIdentity } from './proxy-identity.ts';
import { eventually, startConnector, startOperator, type ConnectorOptions, type RunningConnector, type RunningOperator } from './programs.ts';

const repoRoot = join(import.meta.dirname, '..', '..');
/** The APIService the operator registers for auth.infrahq.com. */
export const apiServiceName = 'v1alpha1.auth.infrahq.com';
const run = promisify(execFile);

export interface InfraOptions {
  hubKubeconfig: string;
  spokeKubeconfig: string;
  /** Unique names: the operator namespace (hub and spoke), the destination. */
  namespace: string;
  destination: string;
  /** Write the operator's and connector's logs here (operator.log, connector.log). */
  logDir?: string;
  /**
   * The operator's own hub identity, when not hubKubeconfig's: e.g. a client certificate for
   * system:serviceaccount:<namespace>:infra-operator, the name the hub's admission policies
   * know the operator by (config/admission/access-requests.yaml).
   */
  operatorKubeconfig?: string;
  /** Settings for the operator's config file (e.g. bootstrapAdmins). */
  operatorConfig?: Record<string, unknown>;
  /** Extra environment for the operator process (e.g. NODE_EXTRA_CA_CERTS). */
  operatorEnv?: NodeJS.ProcessEnv;
  /** Both programs' log level; debug when absent. */
  logLevel?: ConnectorOptions['logLevel'];
  /** The connector proxy's certificate lifetime, e.g. 6s to see renewals. */
  proxyCertificateLifetime?: string;
  /** Connector processes for the destination, as replicas of one Deployment (1 when absent); each logs to connector[-<i>].log. */
  connectors?: number;
  /** Their leaderElection settings, e.g. short leases for a failover test; each gets the identity connector-<i>. */
  connectorLeaderElection?: Omit<NonNullable<ConnectorOptions['leaderElection']>, 'identity'>;
  /** The connector's hubCredential settings, e.g. renewEvery: 3s to see renewals. */
  hubCredential?: ConnectorOptions['hubCredential'];
  /**
   * Serve the auth API through the hub's aggregation layer too, as in a cluster: the operator
   * registers its APIService, a Service sends the hub to its aggregated door, and every
   * authenticated user may create TokenRequests and AccessReviews there. startInfra
   * returns once the APIService is Available.
   */
  aggregated?: boolean;
  /**
   * Where the hub's API server reaches this machine, when not on localhost: e.g. the
   * Docker network's gateway for a kind hub. The aggregated door then listens on all
   * interfaces, and the Service is a selectorless one with an EndpointSlice at this address.
   */
  hubHostAddress?: string;
}

export interface Infra {
  operator: RunningOperator;
  /** The first of `connectors`. */
  connector: RunningConnector;
  /** Every connector process started for the destination, connector-0 first. */
  connectors: RunningConnector[];
  /** What the first connector was started with: startConnector(connectorOptions) starts another one like it. */
  connectorOptions: ConnectorOptions;
  /** The proxy's own spoke identity, which may only impersonate; the RBAC sync uses spokeKubeconfig. */
  proxyIdentity: ProxyIdentity;
  operatorCA: string;
  dir: string;
  /** Creates a built-in user (User + password Secret) in the hub. */
  addUser(email: string, password: string): Promise<void>;
  /** Logs in on the operator's public door and requests a token for the destination (or another). */
  token(email: string, password: string, forDestination?: string): Promise<string>;
  /** A kubeconfig that points real kubectl at a connector's proxy (the first one's unless given) for a destination (this one's unless given) with a bearer token. */
  proxyKubeconfig(token: string, proxyURL?: string, destinationName?: string): Promise<string>;
  /** A kubeconfig with the connector's current hub credential, to act as the connector. */
  connectorHubKubeconfig(): Promise<string>;
  stop(): Promise<void>;
}

function kubectl(kubeconfig: string, args: string[], input?: string): Promise<string> {
  const child = run('kubectl', ['--kubeconfig', kubeconfig, ...args], { maxBuffer: 16 << 20 });
  child.child.stdin!.end(input ?? '');
  return child.then((r) => r.stdout);
}

/**
 * Waits until the hub routes the auth API to the operator in this namespace: the APIService
 * names that namespace's Service, is Available, and discovery of the group version answers
 * through it. The Service matters where another operator served the APIService before (a
 * kind hub with Infra installed): until the aggregator has switched, "Available" and the
 * merged OpenAPI are still the old operator's, and requests fail while it switches.
 */
export async function waitForAuthAPIService(hubKubeconfig: string, namespace: string, timeoutMs = 60_000): Promise<void> {
  await eventually(
    async () => {
      const [serviceNamespace, available] = (
        await kubectl(hubKubeconfig, [
          'get',
          'apiservice',
          apiServiceName,
          '-o',
          'jsonpath={.spec.service.namespace} {.status.conditions[?(@.type=="Available")].status}',
        ])
      ).split(' ');
      if (serviceNamespace !== namespace)
        throw new Error(`the APIService ${apiServiceName} still sends the hub to namespace ${serviceNamespace}, not ${namespace}`);
      if (available !== 'True') throw new Error(`the APIService ${apiServiceName} is not Available`);
      await kubectl(hubKubeconfig, ['get', '--raw', '/apis/auth.infrahq.com/v1alpha1']);
    },
    timeoutMs,
    500,
  );
}

export async function startInfra(options: InfraOptions): Promise<Infra> {
  const { hubKubeconfig, spokeKubeconfig, namespace, destination } = options;
  const dir = await mkdtemp(join(tmpdir(), 'infra-install-'));
  await kubectl(hubKubeconfig, ['create', 'namespace', namespace]);
  await kubectl(spokeKubeconfig, ['create', 'namespace', namespace]);
  const logFile = (name: string) => (options.logDir ? { logFile: join(options.logDir, `${name}.log`) } : {});
  const logLevel = options.logLevel ? { logLevel: options.logLevel } : {};
  const operatorConfig = { ...logLevel, ...(options.aggregated ? { apiService: { register: true } } : {}), ...options.operatorConfig };
  const operator = await startOperator({
    kubeconfig: options.operatorKubeconfig ?? hubKubeconfig,
    namespace,
    config: operatorConfig,
    ...(options.hubHostAddress ? { aggregatedHost: '0.0.0.0' } : {}),
    ...(options.operatorEnv ? { env: options.operatorEnv } : {}),
    ...logFile('operator'),
  });
  if (options.aggregated) {
    // Who may ask through the aggregation layer: everyone authenticated, as config/ installs it.
    await kubectl(hubKubeconfig, ['apply', '--server-side', '-f', join(repoRoot, 'config', 'rbac', 'auth-api-users.yaml')]);
    const service = { apiVersion: 'v1', kind: 'List', items: hostServiceObjects(namespace, 'infra-operator', operator.aggregatedPort, options.hubHostAddress) };
    await kubectl(hubKubeconfig, ['apply', '-f', '-'], JSON.stringify(service));
  }
  const operatorCA = Buffer.from(
    await kubectl(hubKubeconfig, ['get', 'secret', '-n', namespace, 'infra-operator-ca', '-o', 'jsonpath={.data.tls\\.crt}']),
    'base64',
  ).toString();
  const issuerCAFile = join(dir, 'operator-ca.crt');
  await writeFile(issuerCAFile, operatorCA);

  // What `infra destinations add` makes; the connector exchanges the bootstrap credential.
  const bootstrapToken = await addDestination(hubKubeconfig, namespace, destination);
  // The proxy impersonates with an identity of its own, as config/connector/rbac.yaml sets it up.
  const proxyIdentity = await createProxyIdentity((args, input) => kubectl(spokeKubeconfig, args, input), namespace, dir);
  const connectorOptions: ConnectorOptions = {
    destination,
    kubeconfig: spokeKubeconfig,
    bootstrapToken,
    proxyKubeconfig: proxyIdentity.kubeconfig,
    ...(options.proxyCertificateLifetime ? { proxyCertificateLifetime: options.proxyCertificateLifetime } : {}),
    ...(options.hubCredential ? { hubCredential: options.hubCredential } : {}),
    issuer: operator.publicURL,
    issuerCAFile,
    namespace,
    ...logLevel,
    ...logFile('connector'),
  };
  const replica = (i: number): ConnectorOptions => ({
    ...connectorOptions,
    ...(options.connectorLeaderElection ? { leaderElection: { ...options.connectorLeaderElection, identity: `connector-${i}` } } : {}),
    ...(i > 0 ? logFile(`connector-${i}`) : {}),
  });
  const connectors = await Promise.all(Array.from({ length: options.connectors ?? 1 }, (_, i) => startConnector(replica(i))));
  const connector = connectors[0]!;
  if (options.aggregated) {
    try {
      await waitForAuthAPIService(hubKubeconfig, namespace);
    } catch (err) {
      // The caller gets no Infra to stop: stop what started here.
      await Promise.all([...connectors.map((c) => c.stop()), operator.stop()]);
      throw err;
    }
  }

  const post = (plural: string, kind: string, spec: object, bearer?: string) =>
    https(`${operator.publicURL}/apis/auth.infrahq.com/v1alpha1/${plural}`, {
      ca: operatorCA,
      headers: bearer ? { authorization: `Bearer ${bearer}` } : {},
      body: { apiVersion: 'auth.infrahq.com/v1alpha1', kind, spec },
    });
  let users = 0;
  return {
    operator,
    connector,
    connectors,
    connectorOptions: replica(0),
    proxyIdentity,
    operatorCA,
    dir,
    async addUser(email, password) {
      const secret = `user-password-${++users}`;
      await kubectl(hubKubeconfig, ['create', 'secret', 'generic', secret, '-n', namespace, `--from-literal=hash=${await hashPassword(password)}`]);
      await kubectl(
        hubKubeconfig,
        ['apply', '-f', '-'],
        stringify({
          apiVersion: 'infrahq.com/v1alpha1',
          kind: 'User',
          metadata: { name: `${namespace}-user-${users}` },
          spec: { email, passwordSecretRef: { name: secret, key: 'hash' } },
        }),
      );
    },
    async token(email, password, forDestination = destination) {
      const login = await post('logins', 'Login', { email, password });
      if (login.status !== 201) throw new Error(`login failed: ${login.text}`);
      const request = await post(
        'tokenrequests',
        'TokenRequest',
        { destination: forDestination },
        login.json<{ status: { sessionKey: string } }>().status.sessionKey,
      );
      if (request.status !== 201) throw new Error(`token request failed: ${request.text}`);
      return request.json<{ status: { token: string } }>().status.token;
    },
    async proxyKubeconfig(token, proxyURL = connector.proxyURL, destinationName = destination) {
      // The CA comes from the Destination, as the CLI will take it: proof the connector published it.
      const caBundle = await kubectl(hubKubeconfig, ['get', 'destination', destinationName, '-o', 'jsonpath={.spec.caBundle}']);
      const path = join(dir, `user-${Math.random().toString(36).slice(2)}.kubeconfig`);
      await writeFile(
        path,
        stringify({
          apiVersion: 'v1',
          kind: 'Config',
          clusters: [{ name: destinationName, cluster: { server: proxyURL, 'certificate-authority-data': caBundle } }],
          users: [{ name: 'user', user: { token } }],
          contexts: [{ name: destinationName, context: { cluster: destinationName, user: 'user' } }],
          'current-context': destinationName,
        }),
        { mode: 0o600 },
      );
      return path;
    },
    async connectorHubKubeconfig() {
      const path = join(dir, 'connector-hub.kubeconfig');
      await writeConnectorHubKubeconfig(spokeKubeconfig, namespace, path);
      return path;
    },
    async stop() {
      await Promise.all([...connectors.map((c) => c.stop()), operator.stop()]);
      if (options.aggregated) await kubectl(hubKubeconfig, ['delete', 'apiservice', apiServiceName, '--ignore-not-found']);
      await proxyIdentity.remove();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
