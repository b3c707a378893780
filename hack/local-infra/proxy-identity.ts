// The connector proxy's own identity in a spoke, as config/connector/rbac.yaml defines it
// (the ClusterRole infra:connector-proxy: impersonation of users and groups, nothing
// else), for a connector run as a process: a ServiceAccount in the run's namespace, bound
// to that ClusterRole, and a kubeconfig with a token for it.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';

const rbacFile = join(import.meta.dirname, '..', '..', 'config', 'connector', 'rbac.yaml');
export const proxyClusterRole = 'infra:connector-proxy';
export const proxyServiceAccount = 'infra-connector-proxy';

type Kubectl = (args: string[], input?: string) => Promise<string>;

export interface ProxyIdentity {
  /** A kubeconfig for the spoke as the proxy identity. */
  kubeconfig: string;
  /** system:serviceaccount:<namespace>:infra-connector-proxy */
  username: string;
  /** Removes its ClusterRoleBinding (the namespace holds the rest). */
  remove(): Promise<void>;
}

export async function createProxyIdentity(spoke: Kubectl, namespace: string, dir: string, duration = '48h'): Promise<ProxyIdentity> {
  const documents = parseAllDocuments(await readFile(rbacFile, 'utf8')).map((d) => d.toJS() as { kind: string; metadata: { name: string } });
  const role = documents.find((d) => d.kind === 'ClusterRole' && d.metadata.name === proxyClusterRole);
  if (!role) throw new Error(`${rbacFile} has no ClusterRole ${proxyClusterRole}`);
  await spoke(['apply', '--server-side', '--force-conflicts', '-f', '-'], stringify(role));
  await spoke(['create', 'serviceaccount', proxyServiceAccount, '-n', namespace]);
  const binding = `${proxyClusterRole}:${namespace}`;
  await spoke(['create', 'clusterrolebinding', binding, `--clusterrole=${proxyClusterRole}`, `--serviceaccount=${namespace}:${proxyServiceAccount}`]);
  const token = (await spoke(['create', 'token', proxyServiceAccount, '-n', namespace, `--duration=${duration}`])).trim();
  const cluster = JSON.parse(await spoke(['config', 'view', '--raw', '--minify', '--flatten', '-o', 'jsonpath={.clusters[0].cluster}'])) as Record<
    string,
    unknown
  >;
  const kubeconfig = join(dir, 'connector-proxy.kubeconfig');
  await writeFile(
    kubeconfig,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'spoke', cluster }],
      users: [{ name: proxyServiceAccount, user: { token } }],
      contexts: [{ name: 'spoke', context: { cluster: 'spoke', user: proxyServiceAccount } }],
      'current-context': 'spoke',
    }),
    { mode: 0o600 },
  );
  return {
    kubeconfig,
    username: `system:serviceaccount:${namespace}:${proxyServiceAccount}`,
    remove: async () => void (await spoke(['delete', 'clusterrolebinding', binding, '--ignore-not-found'])),
  };
}
