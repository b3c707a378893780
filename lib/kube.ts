// Kubernetes client plumbing shared by the operator and connector.
import { ApiException, KubeConfig } from '@kubernetes/client-node';

/** Loads a kubeconfig from a path, or in-cluster / $KUBECONFIG / ~/.kube/config when absent. */
export function loadKubeConfig(path?: string): KubeConfig {
  const kubeConfig = new KubeConfig();
  if (path) kubeConfig.loadFromFile(path);
  else kubeConfig.loadFromDefault();
  return kubeConfig;
}

/**
 * The HTTP status of an API error from @kubernetes/client-node, or undefined for any
 * other failure (a timeout's numeric `code` is not an HTTP status).
 */
export function statusCode(err: unknown): number | undefined {
  return err instanceof ApiException ? err.code : undefined;
}
