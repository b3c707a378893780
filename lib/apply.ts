// Server-side apply for custom resources: spec-side fields (labels) and status, each
// under the caller's own field manager, so the operator, the connector and GitOps tools
// each own exactly the fields they write. The caller names its kinds: lib knows none.
import type { KubeConfig } from '@kubernetes/client-node';
import { resourcePath, RestClient } from './rest.ts';

/** Where a cluster-scoped kind is served. */
export interface ResourceType {
  group: string;
  version: string;
  kind: string;
  plural: string;
}

export class Applier<Resources extends Readonly<Record<string, ResourceType>>> {
  private readonly api: RestClient;
  private readonly fieldManager: string;
  private readonly resources: Resources;

  constructor(kubeConfig: KubeConfig, fieldManager: string, resources: Resources) {
    this.api = new RestClient(kubeConfig);
    this.fieldManager = fieldManager;
    this.resources = resources;
  }

  /** Applies this manager's part of a cluster-scoped object (e.g. a label). */
  async apply(
    kind: keyof Resources & string,
    name: string,
    partial: { metadata?: { labels?: Record<string, string> } } & Record<string, unknown>,
  ): Promise<void> {
    const { group, version, plural } = this.resources[kind]!;
    const body = { apiVersion: `${group}/${version}`, kind, ...partial, metadata: { ...partial.metadata, name } };
    await this.api.apply(resourcePath(group, version, plural, undefined, name), body, this.fieldManager);
  }

  /**
   * Applies this manager's status fields through the /status subresource. With
   * `onlyOnto`, only onto that resourceVersion of the object: the API server answers 409
   * Conflict, and writes nothing, when anyone has written the object since.
   */
  async applyStatus(kind: keyof Resources & string, name: string, status: object, onlyOnto?: { resourceVersion?: string | undefined }): Promise<void> {
    const { group, version, plural } = this.resources[kind]!;
    const resourceVersion = onlyOnto?.resourceVersion;
    const body = { apiVersion: `${group}/${version}`, kind, metadata: { name, ...(resourceVersion !== undefined ? { resourceVersion } : {}) }, status };
    await this.api.apply(`${resourcePath(group, version, plural, undefined, name)}/status`, body, this.fieldManager);
  }
}
