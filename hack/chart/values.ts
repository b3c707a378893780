// The chart's values: defaults read from config/ (so default values render config/hub),
// and the JSON schema Helm checks them against before rendering. The schema's
// descriptions are also values.yaml's comments, so the two say the same.
import { Document, isMap, isPair, isScalar, visit } from 'yaml';
import { programConfigSchema } from './config-schemas.ts';
import type { ChartModel, Component, Container } from './model.ts';
import { guardrailKinds } from './templates.ts';

interface Schema {
  type?: string | string[];
  description?: string;
  properties?: Record<string, Schema>;
  additionalProperties?: boolean | Schema;
  [key: string]: unknown;
}

const object = (description: string, properties: Record<string, Schema>): Schema => ({ type: 'object', description, additionalProperties: false, properties });
const switchOf = (description: string): Schema => object(description, { enabled: { type: 'boolean', description: 'Whether to render them.' } });

/** A Kubernetes resource quantity (512Mi, 100m, 2), as a string or a number. */
const quantity: Schema = {
  type: ['string', 'number'],
  pattern: '^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([KMGTPE]i|[numkMGTPE]|[eE][+-]?[0-9]+)?$',
  description: 'A Kubernetes quantity, e.g. 512Mi or 100m.',
};

const resources = (container: Container): Schema =>
  object(`The ${container.name} container's resources (requests, limits), as in a pod spec.`, {
    requests: { type: 'object', additionalProperties: quantity },
    limits: { type: 'object', additionalProperties: quantity },
    claims: { type: 'array', items: { type: 'object' } },
  });

const image = (container: Container): Schema => ({
  ...object(`The ${container.name} container's image.`, {
    repository: { type: 'string', minLength: 1, description: `Repository, e.g. ${container.image.repository}.` },
    tag: { type: 'string', description: 'Tag: a release, never latest.' },
    digest: { type: 'string', pattern: '^(sha256:[0-9a-f]{64})?$', description: 'sha256:… digest to pin (docs/install.md); empty for none.' },
  }),
  required: ['repository'],
});

function componentSchema(component: Component): Schema {
  const [main, ...others] = component.containers;
  const containerProperties = (container: Container) => ({ image: image(container), resources: resources(container) });
  return object(`The Deployment ${component.deployment}.`, {
    replicas: { type: 'integer', minimum: 0, description: `Replicas of ${component.deployment}.` },
    ...(main && main.valuePath === component.key ? containerProperties(main) : {}),
    ...Object.fromEntries(
      others
        .concat(main && main.valuePath !== component.key ? [main] : [])
        .map((c) => [c.valuePath.split('.')[1]!, object(`The ${c.name} container.`, containerProperties(c))]),
    ),
    ...(component.configMap
      ? {
          config: {
            type: 'object',
            ...programConfigSchema(component.key),
            description: `Merged into the config file of ConfigMap ${component.configMap} (keys replace config/'s; docs/${component.key}.md lists them). Empty: config/'s file as it is.`,
          },
        }
      : {}),
  });
}

function componentValues(component: Component): Record<string, unknown> {
  const values: Record<string, unknown> = { replicas: component.replicas };
  for (const container of component.containers) {
    const own = { image: container.image, resources: container.resources };
    if (container.valuePath === component.key) Object.assign(values, own);
    else values[container.valuePath.split('.')[1]!] = own;
  }
  if (component.configMap) values.config = {};
  return values;
}

const componentKeys = (model: ChartModel) => [...new Set(model.objects.flatMap((p) => (p.component ? [p.component] : [])))];

export function valuesSchema(model: ChartModel): Schema {
  const kinds = new Set(model.objects.map((p) => p.object.kind));
  const guardrails = [...new Set(Object.entries(guardrailKinds).flatMap(([kind, key]) => (kinds.has(kind) ? [key] : [])))];
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    ...object('Values of the Infra chart (generated from config/ by hack/generate-chart.ts).', {
      hub: switchOf('The hub: the operator, the CRDs and their RBAC (config/hub).'),
      spoke: switchOf('A spoke: the connector and its RBAC (config/spoke). Both on: one cluster that is hub and spoke (config/default).'),
      namespace: object('The namespace Infra runs in.', {
        name: { type: 'string', maxLength: 63, pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', description: 'Its name (a DNS label).' },
        create: { type: 'boolean', description: 'Whether the chart creates it; off with helm install --create-namespace or an existing namespace.' },
      }),
      ...(kinds.has('CustomResourceDefinition')
        ? {
            crds: object("Infra's CRDs (hub only).", {
              enabled: { type: 'boolean', description: 'Whether to render them; off when they are installed another way.' },
              keep: {
                type: 'boolean',
                description: 'Keep them on helm uninstall (helm.sh/resource-policy: keep): deleting a CRD deletes every Grant, User and Provider.',
              },
            }),
          }
        : {}),
      ...Object.fromEntries(guardrails.map((key) => [key, switchOf(`The ${key} of config/, the guardrails around the programs (docs/install.md).`)])),
      ...Object.fromEntries(
        componentKeys(model).map((key) => [
          key,
          switchOf(`The opt-in component config/${key}: admission policies a platform team turns on (docs/access-requests.md#${key}). Off by default.`),
        ]),
      ),
      ...Object.fromEntries(model.components.map((c) => [c.key, componentSchema(c)])),
    }),
  };
}

export function defaultValues(model: ChartModel): Record<string, unknown> {
  const schema = valuesSchema(model).properties!;
  return {
    hub: { enabled: true },
    spoke: { enabled: false },
    namespace: { name: model.namespace, create: true },
    ...('crds' in schema ? { crds: { enabled: true, keep: true } } : {}),
    ...Object.fromEntries(Object.keys(guardrailKinds).flatMap((kind) => (guardrailKinds[kind]! in schema ? [[guardrailKinds[kind]!, { enabled: true }]] : []))),
    ...Object.fromEntries(componentKeys(model).map((key) => [key, { enabled: false }])),
    ...Object.fromEntries(model.components.map((c) => [c.key, componentValues(c)])),
  };
}

/** values.yaml: the defaults, each key with its schema description as a comment. */
export function valuesFile(model: ChartModel, header: string): string {
  const schema = valuesSchema(model);
  const document = new Document(defaultValues(model));
  visit(document, {
    Pair(_, pair, path) {
      if (!isScalar(pair.key)) return;
      const keys = [...path.filter(isPair).map((p) => String((p.key as { value: unknown }).value)), String(pair.key.value)];
      let node: Schema | undefined = schema;
      for (const key of keys) node = node?.properties?.[key];
      if (node?.description && (isMap(pair.value) || keys.length > 1)) pair.key.commentBefore = ` ${node.description}`;
    },
  });
  document.commentBefore = ` ${header.replace(/^# /, '')}`;
  return document.toString({ lineWidth: 0 });
}
