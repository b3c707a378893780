// The spoke API server as the connector reports it for destinations whose API server
// verifies Infra tokens itself (spec.trust Direct): the URL and CA that kubectl uses there.
// The configured external address wins; otherwise the API server the connector talks to,
// which is right outside a cluster and only reachable from inside one.
import { readFile } from 'node:fs/promises';
import type { KubeConfig } from '@kubernetes/client-node';
import type { ConnectorConfig } from './config.ts';

export interface ReportedApiServer {
  url: string;
  /** PEM; absent when the API server's certificate is publicly trusted. */
  ca?: string;
}

/**
 * Undefined when there is nothing kubectl could use: the spoke kubeconfig's server is not
 * https:// (the Destination's schema refuses it, and with it the whole heartbeat).
 */
export async function reportedApiServer(configured: ConnectorConfig['apiServer'], spoke: KubeConfig): Promise<ReportedApiServer | undefined> {
  const cluster = spoke.getCurrentCluster();
  const url = configured.url ?? cluster?.server.replace(/\/+$/, '');
  if (!url?.startsWith('https://')) return undefined;
  // The cluster's own CA, unless the external address presents another's: a load balancer
  // in front of the API servers usually passes their certificate through.
  const ca = configured.caFile
    ? await readCA(configured.caFile)
    : cluster?.caData
      ? Buffer.from(cluster.caData, 'base64').toString()
      : cluster?.caFile
        ? await readCA(cluster.caFile)
        : undefined;
  return { url, ...(ca ? { ca } : {}) };
}

async function readCA(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read the API server's CA from ${path}: ${(err as Error).message}`, { cause: err });
  }
}
