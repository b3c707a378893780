// What a test that talks to the real local control plane needs: the clusters from the
// global setup, names no other test uses, and the real kubectl.
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { inject } from 'vitest';
import { stringify } from 'yaml';
import type { Grant, GrantSpec, Provider } from '../api/v1alpha1/types.ts';
import { userKubeconfig, type ClusterName, type ClusterState } from '../hack/controlplane/controlplane.ts';
import { runCommand, type CommandResult } from '../hack/local-infra/command.ts';
import { hostServiceObjects } from '../hack/local-infra/host-service.ts';
import { startInfra, waitForAuthAPIService, type Infra, type InfraOptions } from '../hack/local-infra/infra.ts';
import { startOperator, type RunningOperator } from '../hack/local-infra/programs.ts';
import { findCondition, type Condition } from '../lib/conditions.ts';
import { providerSecretBinding } from '../operator/secret-refs.ts';
import { testDirectory } from './temporary.ts';

export function cluster(name: ClusterName): ClusterState {
  return inject('controlPlane').clusters[name];
}

/**
 * Infra on the run's hub and spoke (startInfra), with these built-in users already made
 * (email → password) and these Grants applied in the hub.
 */
export async function startTestInfra(
  options: Omit<InfraOptions, 'hubKubeconfig' | 'spokeKubeconfig'>,
  users: Record<string, string> = {},
  grants: Grant[] = [],
): Promise<Infra> {
  const hub = cluster('hub');
  const infra = await startInfra({
    hubKubeconfig: hub.adminKubeconfig,
    spokeKubeconfig: cluster('spoke').adminKubeconfig,
    ...(hub.hostAddress ? { hubHostAddress: hub.hostAddress } : {}),
    ...options,
  });
  for (const [email, password] of Object.entries(users)) await infra.addUser(email, password);
  if (grants.length > 0) await applyHub(grants);
  return infra;
}

/** A Grant as a platform team writes one. */
export function grantObject(name: string, spec: GrantSpec): Grant & { metadata: { name: string } } {
  return { apiVersion: 'infrahq.com/v1alpha1', kind: 'Grant', metadata: { name }, spec };
}

/** A DNS-label name unique to this test run and worker, so parallel suites never collide. */
export function uniqueName(prefix: string): string {
  const worker = process.env.VITEST_POOL_ID ?? '0';
  return `${prefix}-w${worker}-${randomBytes(3).toString('hex')}`;
}

export interface KubectlOptions {
  /** Written to kubectl's stdin (e.g. a manifest for `apply -f -`). */
  input?: string;
  /** A kubeconfig path other than the cluster's admin one. */
  kubeconfig?: string;
}

/** Runs the real kubectl against a cluster; never throws on a non-zero exit. */
export function kubectl(target: ClusterName, args: string[], options: KubectlOptions = {}): Promise<CommandResult> {
  const kubeconfig = options.kubeconfig ?? cluster(target).adminKubeconfig;
  return runCommand('kubectl', ['--kubeconfig', kubeconfig, ...args], options.input === undefined ? {} : { input: options.input });
}

/** Like kubectl, but fails the test with kubectl's own error when the command fails. */
export async function kubectlOk(target: ClusterName, args: string[], options: KubectlOptions = {}): Promise<string> {
  const result = await kubectl(target, args, options);
  if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (exit ${result.code}): ${result.stderr}`);
  return result.stdout;
}

/** Objects as one YAML stream, the way `kubectl apply -f -` reads several. */
export function manifest(objects: readonly object[]): string {
  return objects.map((object) => stringify(object)).join('---\n');
}

/** Applies objects to the hub with the real kubectl (more flags in `flags`, e.g. --server-side); fails the test with kubectl's error. */
export function applyHub(objects: readonly object[], flags: string[] = []): Promise<string> {
  return kubectlOk('hub', ['apply', '-f', '-', ...flags], { input: manifest(objects) });
}

/** Applies one Grant to the hub (grantObject). */
export async function applyGrant(name: string, spec: GrantSpec): Promise<void> {
  await applyHub([grantObject(name, spec)]);
}

/** A Grant's condition of this type as the hub has it now (undefined before anyone wrote one). */
export async function grantCondition(name: string, type: string): Promise<Condition | undefined> {
  const conditions = JSON.parse((await kubectlOk('hub', ['get', 'grant', name, '-o', 'jsonpath={.status.conditions}'])) || '[]') as Condition[];
  return findCondition(conditions, type);
}

/** The CA of the operator's public door in this namespace (PEM), from the Secret it made. */
export async function operatorServingCA(namespace: string): Promise<string> {
  const encoded = await kubectlOk('hub', ['get', 'secret', '-n', namespace, 'infra-operator-ca', '-o', 'jsonpath={.data.tls\\.crt}']);
  return Buffer.from(encoded, 'base64').toString();
}

/**
 * An operator in a new namespace that registers the auth API's APIService and serves it
 * behind a Service the hub's aggregation layer reaches, with the auth API's ClusterRoles
 * (config/rbac/auth-api-users.yaml) applied; returns once the hub routes the auth API to it.
 */
export async function startAggregatedOperator(namespace: string, config: Record<string, unknown> = {}): Promise<RunningOperator> {
  await kubectlOk('hub', ['create', 'namespace', namespace]);
  await kubectlOk('hub', ['apply', '--server-side', '-f', join(import.meta.dirname, '..', 'config', 'rbac', 'auth-api-users.yaml')]);
  const operator = await startOperator({
    kubeconfig: cluster('hub').adminKubeconfig,
    namespace,
    aggregatedHost: listenAddressFor('hub'),
    config: { apiService: { register: true }, ...config },
  });
  await serviceForHostPort('hub', namespace, 'infra-operator', operator.aggregatedPort);
  try {
    await waitForAuthAPIService(cluster('hub').adminKubeconfig, namespace);
  } catch (err) {
    await operator.stop();
    throw err;
  }
  return operator;
}

/** Where a test process must listen to be reachable from the cluster's API server. */
export function listenAddressFor(target: ClusterName): string {
  return cluster(target).hostAddress ? '0.0.0.0' : '127.0.0.1';
}

export { hostServiceObjects };

/** Applies hostServiceObjects for this cluster. */
export async function serviceForHostPort(target: ClusterName, namespace: string, name: string, port: number): Promise<void> {
  const items = hostServiceObjects(namespace, name, port, cluster(target).hostAddress);
  await kubectlOk(target, ['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items }) });
}

/** Writes a kubeconfig for a non-admin user (client certificate with CN=user, O=groups), removed when the test finishes. */
export async function userKubeconfigFile(target: ClusterName, user: string, groups: string[] = []): Promise<string> {
  const path = join(testDirectory('infra-test-user-'), 'kubeconfig');
  await writeFile(path, await userKubeconfig(cluster(target), user, groups), { mode: 0o600 });
  return path;
}

/** An OIDC Provider whose client secret is the clientSecret key of this Secret in the operator's namespace (createProviderSecret). */
export function oidcProviderObject(name: string, client: { issuer: string; clientID: string; secretName: string }): Provider {
  return {
    apiVersion: 'infrahq.com/v1alpha1',
    kind: 'Provider',
    metadata: { name },
    spec: { kind: 'oidc', issuer: client.issuer, clientID: client.clientID, clientSecretRef: { name: client.secretName, key: 'clientSecret' } },
  };
}

/** A Provider's client secret as a platform team makes one: bound to its Provider and issuer (operator/secret-refs.ts). */
export async function createProviderSecret(namespace: string, secret: { name: string; provider: string; issuer: string; clientSecret: string }): Promise<void> {
  const { labels, annotations } = providerSecretBinding(secret.provider, secret.issuer);
  const object = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: secret.name, namespace, labels, annotations },
    stringData: { clientSecret: secret.clientSecret },
  };
  await kubectlOk('hub', ['apply', '-f', '-'], { input: JSON.stringify(object) });
}
