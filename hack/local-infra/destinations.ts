// A destination's connector identity for local runs, made by the same code the operator's
// `infra destinations add` runs (operator/connector-identity.ts), with the hub admin's
// kubeconfig instead of an Infra admin's session; and the hub kubeconfig a connector
// holds once it has exchanged its bootstrap credential, for tests that act as it.
import { writeFile } from 'node:fs/promises';
import { stringify } from 'yaml';
import { hubCredentialSecret } from '../../connector/hub-credential.ts';
import { loadKubeConfig } from '../../lib/kube.ts';
import { RestClient } from '../../lib/rest.ts';
import { ConnectorIdentities, hubAddress } from '../../operator/connector-identity.ts';

/** The bootstrap credential for a new (or renewed) destination's connector. */
export async function addDestination(hubKubeconfig: string, namespace: string, destination: string, expiresInMs = 3_600_000): Promise<string> {
  const kubeConfig = loadKubeConfig(hubKubeconfig);
  const identities = new ConnectorIdentities(kubeConfig, namespace, hubAddress(kubeConfig, {}));
  return (await identities.add(destination, expiresInMs, 'local-infra')).bootstrapToken;
}

/** What the connector keeps in its spoke Secret, as fields. */
export async function storedHubCredential(spokeKubeconfig: string, namespace: string): Promise<Record<string, string> | undefined> {
  const spoke = new RestClient(loadKubeConfig(spokeKubeconfig));
  try {
    const secret = await spoke.get<{ data: Record<string, string> }>(`/api/v1/namespaces/${namespace}/secrets/${hubCredentialSecret}`);
    return Object.fromEntries(Object.entries(secret.data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]));
  } catch {
    return undefined;
  }
}

/** Writes a kubeconfig with the connector's current hub credential to `path`. */
export async function writeConnectorHubKubeconfig(spokeKubeconfig: string, namespace: string, path: string): Promise<void> {
  const stored = await storedHubCredential(spokeKubeconfig, namespace);
  if (!stored) throw new Error(`the connector has no hub credential in ${namespace}/${hubCredentialSecret} yet`);
  const kubeconfig = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'hub', cluster: { server: stored['server'], 'certificate-authority-data': stored['certificateAuthorityData'] } }],
    users: [{ name: stored['serviceAccount'], user: { token: stored['token'] } }],
    contexts: [{ name: 'hub', context: { cluster: 'hub', user: stored['serviceAccount'] } }],
    'current-context': 'hub',
  };
  await writeFile(path, stringify(kubeconfig), { mode: 0o600 });
}
