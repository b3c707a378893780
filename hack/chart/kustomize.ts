// config/'s trees rendered the way users apply them (`kubectl apply -k`): by kubectl's
// built-in kustomize, into plain objects.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
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

async function kustomizeDir(dir: string, source: string): Promise<KubernetesObject[]> {
  const result = await runCommand('kubectl', ['kustomize', dir]);
  if (result.code !== 0) throw new Error(`kubectl kustomize ${source} failed (exit ${result.code}): ${result.stderr.trim()}`);
  return parseObjects(result.stdout, `kubectl kustomize ${source}`);
}

/** `kubectl kustomize config/<tree>`, as objects. */
export function kustomize(tree: string): Promise<KubernetesObject[]> {
  return kustomizeDir(join(configDir, tree), `config/${tree}`);
}

/**
 * What an overlay of the config/ trees `resources` with the config/ components
 * `components` renders (a component cannot be rendered alone), e.g. the hub with its
 * guardrails, or the guardrails alone with no resources.
 */
export async function kustomizeOverlay(resources: string[], components: string[]): Promise<KubernetesObject[]> {
  const dir = await mkdtemp(join(tmpdir(), 'infra-overlay-'));
  try {
    // kustomize refuses absolute paths to other kustomizations.
    const path = (tree: string) => relative(dir, join(configDir, tree));
    await writeFile(join(dir, 'kustomization.yaml'), stringify({ resources: resources.map(path), components: components.map(path) }));
    return await kustomizeDir(dir, `of config/{${resources.join(',')}} with components {${components.join(',')}}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** An object's identity in a cluster: group/kind, namespace and name. */
export function objectKey(object: KubernetesObject): string {
  const group = object.apiVersion.includes('/') ? object.apiVersion.split('/')[0] : 'core';
  return `${group}/${object.kind} ${object.metadata.namespace ?? '-'}/${object.metadata.name}`;
}
