// Server-side apply for Infra's custom resources: spec-side fields (labels) and status,
// each under the caller's own field manager, so the operator, the connector and GitOps
// tools each own exactly the fields they write.
import type { KubeConfig } from '@kubernetes/client-node';
import { resources } from '../api/v1alpha1/types.ts';
import { resourcePath, RestClient } from './rest.ts';

type Kind = keyof typeof resources;

export class Applier {
  private readonly api: RestClient;
  private readonly fieldManager: string;

  constructor(kubeConfig: KubeConfig, fieldManager: string) {
    this.api = new RestClient(kubeConfig);
    this.fieldManager = fieldManager;
  }

  /** Applies this manager's part of a cluster-scoped object (e.g. a label). */
  async apply(kind: Kind, name: string, partial: { metadata?: { labels?: Record<string, string> } } & Record<string, unknown>): Promise<void> {
    const { group, version, plural } = resources[kind];
    const body = { apiVersion: `${group}/${version}`, kind, ...partial, metadata: { ...partial.metadata, name } };
    await this.api.apply(resourcePath(group, version, plural, undefined, name), body, this.fieldManager);
  }

  /** Applies this manager's status fields through the /status subresource. */
  async applyStatus(kind: Kind, name: string, status: object): Promise<void> {
    const { group, version, plural } = resources[kind];
    const body = { apiVersion: `${group}/${version}`, kind, metadata: { name }, status };
    await this.api.apply(`${resourcePath(group, version, plural, undefined, name)}/status`, body, this.fieldManager);
  }
}
