// config/'s trees rendered the way users apply them (`kubectl apply -k`): by kubectl's
// built-in kustomize, into plain objects.
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { runCommand } from '../local-infra/command.ts';

export const configDir = join(import.meta.dirname, '..', '..', 'config');

export interface KubernetesObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string>; [key: string]: unknown };
  [key: string]: unknown;
}

/** Parses a multi-document YAML stream (kustomize's or helm's output), skipping empty documents. */
export function parseObjects(stream: string, source: string): KubernetesObject[] {
  return parseAllDocuments(stream).flatMap((document) => {
    if (document.errors.length > 0) throw new Error(`${source}: not valid YAML: ${document.errors[0]!.message}`);
    const object = document.toJS() as KubernetesObject | null;
    return object === null ? [] : [object];
  });
}

/** `kubectl kustomize config/<tree>`, as objects. */
export async function kustomize(tree: string): Promise<KubernetesObject[]> {
  const result = await runCommand('kubectl', ['kustomize', join(configDir, tree)]);
  if (result.code !== 0) throw new Error(`kubectl kustomize config/${tree} failed (exit ${result.code}): ${result.stderr.trim()}`);
  return parseObjects(result.stdout, `kubectl kustomize config/${tree}`);
}

/** An object's identity in a cluster: group/kind, namespace and name. */
export function objectKey(object: KubernetesObject): string {
  const group = object.apiVersion.includes('/') ? object.apiVersion.split('/')[0] : 'core';
  return `${group}/${object.kind} ${object.metadata.namespace ?? '-'}/${object.metadata.name}`;
}
