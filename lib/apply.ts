// Server-side apply for Infra's custom resources: spec-side fields (labels) and status,
// each under the caller's own field manager, so the operator, the connector and GitOps
// tools each own exactly the fields they write.
import { CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { resources } from '../api/v1alpha1/types.ts';

type Kind = keyof typeof resources;

const applyOptions = setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply);

export class Applier {
  private readonly api: CustomObjectsApi;
  private readonly fieldManager: string;

  constructor(kubeConfig: KubeConfig, fieldManager: string) {
    this.api = kubeConfig.makeApiClient(CustomObjectsApi);
    this.fieldManager = fieldManager;
  }

  /** Applies this manager's part of a cluster-scoped object (e.g. a label). */
  async apply(kind: Kind, name: string, partial: { metadata?: { labels?: Record<string, string> } } & Record<string, unknown>): Promise<void> {
    const { group, version, plural } = resources[kind];
    const body = { apiVersion: `${group}/${version}`, kind, ...partial, metadata: { ...partial.metadata, name } };
    await this.api.patchClusterCustomObject({ group, version, plural, name, body, fieldManager: this.fieldManager, force: true }, applyOptions);
  }

  /** Applies this manager's status fields through the /status subresource. */
  async applyStatus(kind: Kind, name: string, status: object): Promise<void> {
    const { group, version, plural } = resources[kind];
    const body = { apiVersion: `${group}/${version}`, kind, metadata: { name }, status };
    await this.api.patchClusterCustomObjectStatus({ group, version, plural, name, body, fieldManager: this.fieldManager, force: true }, applyOptions);
  }
}
