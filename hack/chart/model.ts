// What the chart is made of, read from config/: every object of config/hub and
// config/spoke, where it belongs, and the Deployments whose images, replicas and
// resources become values. Nothing here names an object: the rules go by kind and by
// the `infra-` prefix, so objects config/ gains later land in the chart by themselves.
import { isDeepStrictEqual } from 'node:util';
import { kustomize, kustomizeOverlay, objectKey, type KubernetesObject } from './kustomize.ts';

/** One object of the chart, and the cluster roles (config/hub, config/spoke) that install it. */
export interface PlacedObject {
  object: KubernetesObject;
  hub: boolean;
  spoke: boolean;
  /** The opt-in component of config/ it comes from (its values key switches it, off by default); none for config/hub and config/spoke. */
  component?: string;
}

/** The components of config/ a hub may add, each an opt-in of the chart under its own values key. */
export const hubComponents: Record<string, string> = { guardrails: 'guardrails' };

export interface Image {
  repository: string;
  tag: string;
  digest: string;
}

export interface Container {
  name: string;
  /** Where its values live: the component's key, or `<component>.<container>` for a second container. */
  valuePath: string;
  image: Image;
  resources: Record<string, unknown>;
}

/** A Deployment of config/ and the values it gets. */
export interface Component {
  /** Its values key: the Deployment's name without `infra-`, in camelCase (infra-operator → operator). */
  key: string;
  deployment: string;
  replicas: number;
  containers: Container[];
  /** The ConfigMap of the same name whose `config.yaml` the `<key>.config` value merges into. */
  configMap?: string;
}

export interface ChartModel {
  objects: PlacedObject[];
  /** The install namespace: the one Namespace config/ creates. */
  namespace: string;
  components: Component[];
}

export const camelCase = (name: string) => name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
export const componentKey = (name: string) => camelCase(name.replace(/^infra-/, ''));

export function parseImage(reference: string): Image {
  const [named, digest = ''] = reference.split('@') as [string, string?];
  const tagAt = named.lastIndexOf(':');
  const hasTag = tagAt > named.lastIndexOf('/');
  return { repository: hasTag ? named.slice(0, tagAt) : named, tag: hasTag ? named.slice(tagAt + 1) : '', digest };
}

interface DeploymentSpec {
  replicas?: number;
  template: { spec: { containers: { name: string; image: string; resources?: Record<string, unknown> }[] } };
}

function component(deployment: KubernetesObject, configMaps: Set<string>): Component {
  const key = componentKey(deployment.metadata.name);
  const spec = deployment.spec as DeploymentSpec;
  return {
    key,
    deployment: deployment.metadata.name,
    replicas: spec.replicas ?? 1,
    containers: spec.template.spec.containers.map((container) => ({
      name: container.name,
      valuePath: camelCase(container.name) === key ? key : `${key}.${camelCase(container.name)}`,
      image: parseImage(container.image),
      resources: container.resources ?? {},
    })),
    ...(configMaps.has(deployment.metadata.name) ? { configMap: deployment.metadata.name } : {}),
  };
}

/** Places objects from both trees; one in both must be the same in both (it is rendered once). */
export function placeObjects(hub: KubernetesObject[], spoke: KubernetesObject[]): PlacedObject[] {
  const placed = new Map<string, PlacedObject>();
  for (const object of hub) placed.set(objectKey(object), { object, hub: true, spoke: false });
  for (const object of spoke) {
    const key = objectKey(object);
    const inHub = placed.get(key);
    if (!inHub) placed.set(key, { object, hub: false, spoke: true });
    else if (isDeepStrictEqual(inHub.object, object)) inHub.spoke = true;
    else throw new Error(`${key} differs between config/hub and config/spoke: the chart renders it once, so make the two equal or name them differently`);
  }
  return [...placed.values()];
}

export function chartModel(objects: PlacedObject[]): ChartModel {
  const namespaces = objects.filter((p) => p.object.kind === 'Namespace');
  if (namespaces.length !== 1)
    throw new Error(`config/hub and config/spoke must create exactly one Namespace, the install namespace; they create ${namespaces.length}`);
  const configMaps = new Set(
    objects
      .filter((p) => p.object.kind === 'ConfigMap' && (p.object.data as Record<string, string> | undefined)?.['config.yaml'])
      .map((p) => p.object.metadata.name),
  );
  const components = objects.filter((p) => p.object.kind === 'Deployment').map((p) => component(p.object, configMaps));
  const keys = components.map((c) => c.key);
  const clash = keys.find((key, i) => keys.indexOf(key) !== i);
  if (clash) throw new Error(`two Deployments in config/ share the values key ${clash}: give them names that differ after infra-`);
  return { objects, namespace: namespaces[0]!.object.metadata.name, components };
}

/** Adds what a hub component renders beyond config/hub, as that component's opt-in objects. */
export function placeComponent(placed: PlacedObject[], component: string, hubWithComponent: KubernetesObject[]): PlacedObject[] {
  const known = new Set(placed.map((p) => objectKey(p.object)));
  const added = hubWithComponent.filter((object) => !known.has(objectKey(object)));
  return [...placed, ...added.map((object) => ({ object, hub: true, spoke: false, component }))];
}

/** The chart's model from config/ as kubectl kustomize renders it. */
export async function readConfig(): Promise<ChartModel> {
  const [hub, spoke] = await Promise.all([kustomize('hub'), kustomize('spoke')]);
  let placed = placeObjects(hub, spoke);
  for (const [dir, key] of Object.entries(hubComponents)) placed = placeComponent(placed, key, await kustomizeOverlay(['hub'], [dir]));
  return chartModel(placed);
}
