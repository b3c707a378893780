// The auth API's OpenAPI documents (v2, and v3 for the group-version), built from the zod
// schemas that validate its requests and type its answers, so what kubectl explains and
// validates is what the operator accepts. Shaped as Kubernetes serves its own: definitions
// carry x-kubernetes-group-version-kind (kubectl finds a kind's schema by it), each kind has
// a create operation on its collection path. Kept out of types.ts: only the operator serves
// them, and the CLI loads types.ts on every kubectl command.
import { z } from 'zod';
import { apiVersion, group, kinds, version, type Kind } from './types.ts';

type Schema = Record<string, unknown>;

export interface AuthOpenAPI {
  /** Swagger 2.0: what the aggregator merges into the hub's /openapi/v2 (kubectl's client-side validation reads it). */
  v2: Schema;
  /** OpenAPI 3.0 for `apis/auth.infrahq.com/v1alpha1` (kubectl explain reads it). */
  v3: Schema;
}

/** The path of the group-version in OpenAPI v3 discovery (`/openapi/v3/<path>`). */
export const openAPIV3GroupVersionPath = `apis/${group}/${version}`;

/** Definition names follow Kubernetes' reversed-domain style, e.g. io.k8s.api.authentication.v1.TokenReview. */
const definitionPrefix = `${group.split('.').reverse().join('.')}.${version}`;
const definitionName = (name: string) => `${definitionPrefix}.${name}`;

/**
 * ObjectMeta as the auth API honours it: nothing is stored, so only the name is read (and
 * echoed). The hub's own ObjectMeta has many more fields, which kubectl would then let
 * through to be ignored; defined here under the group's own name, so the aggregator's
 * merge of the hub's /openapi/v2 keeps both.
 */
export const requestMeta = z
  .object({
    name: z.string().optional().describe('A name for the request, echoed in the answer. Optional: nothing is stored.'),
    creationTimestamp: z.string().optional().describe('When the request was answered (RFC 3339); set by the server.'),
  })
  .describe('Metadata of a request; nothing is stored, so only the name is read.');

const typeMeta = (kind: Kind) => ({
  apiVersion: z.string().describe(`The versioned schema of this object: ${apiVersion}.`),
  kind: z.string().describe(`The kind of this object: ${kind}.`),
});

/** A zod schema as JSON Schema in the dialect each OpenAPI version embeds. */
function jsonSchema(schema: z.ZodType, target: 'draft-4' | 'openapi-3.0', io: 'input' | 'output'): Schema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { target, io, unrepresentable: 'throw' }) as Schema;
  return asKubernetesSchema(rest) as Schema;
}

/**
 * Keywords zod writes that Kubernetes' documents never carry: `additionalProperties: false`
 * (zod's strict objects; kubectl treats every field not listed as unknown anyway), and empty
 * `properties`, which the hub's aggregator drops when it merges: the merged one is the same.
 */
const foreignKeyword = (key: string, value: unknown) =>
  (key === 'additionalProperties' && value === false) ||
  (key === 'properties' && typeof value === 'object' && value !== null && Object.keys(value).length === 0);

function asKubernetesSchema(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(asKubernetesSchema);
  if (typeof value !== 'object' || value === null) return value;
  const entries = Object.entries(value as Record<string, unknown>);
  return Object.fromEntries(entries.filter(([key, inner]) => !foreignKeyword(key, inner)).map(([key, inner]) => [key, asKubernetesSchema(inner)]));
}

const gvk = (kind: Kind) => ({ group, kind, version });

interface Dialect {
  target: 'draft-4' | 'openapi-3.0';
  /** A reference to a definition, with the description of the field that holds it. */
  field: (name: string, description: string | undefined) => Schema;
}

/** Every definition the served kinds need, named as in both documents. */
function definitions(served: readonly Kind[], { target, field }: Dialect): Record<string, Schema> {
  const out: Record<string, Schema> = {
    [definitionName('ObjectMeta')]: jsonSchema(requestMeta, target, 'output'),
  };
  for (const kind of served) {
    const { description, spec, status } = kinds[kind];
    const specSchema = jsonSchema(spec, target, 'input');
    out[definitionName(`${kind}Spec`)] = specSchema;
    out[definitionName(`${kind}Status`)] = jsonSchema(status, target, 'output');
    out[definitionName(kind)] = {
      description,
      type: 'object',
      // Kubernetes lists spec as required when it has required fields (an empty spec is sent as {}).
      ...(Array.isArray(specSchema.required) && specSchema.required.length > 0 ? { required: ['spec'] } : {}),
      properties: {
        apiVersion: jsonSchema(typeMeta(kind).apiVersion, target, 'output'),
        kind: jsonSchema(typeMeta(kind).kind, target, 'output'),
        metadata: field('ObjectMeta', requestMeta.description),
        spec: field(`${kind}Spec`, spec.description),
        status: field(`${kind}Status`, `${status.description} Set by the server in its answer.`),
      },
      'x-kubernetes-group-version-kind': [gvk(kind)],
    };
  }
  return out;
}

const capitalized = (word: string) => word.charAt(0).toUpperCase() + word.slice(1);
/** Tags and operation ids in Kubernetes' style: authInfrahqCom_v1alpha1, createAuthInfrahqComV1alpha1TokenRequest. */
const groupWords = group
  .split('.')
  .map((word, i) => (i === 0 ? word : capitalized(word)))
  .join('');
const groupVersionTag = `${groupWords}_${version}`;
const kindWithArticle = (kind: Kind) => `${/^[AEIOU]/.test(kind) ? 'an' : 'a'} ${kind}`;

const collectionPath = (kind: Kind) => `/apis/${group}/${version}/${kinds[kind].plural}`;
const namePath = (kind: Kind) => `${collectionPath(kind)}/{name}`;
const nameParameter = { name: 'name', in: 'path', required: true, description: 'name of the object' };
const notFound = { description: 'Not Found: nothing is stored' };
const info = { title: 'Infra auth API', version };

/** What both documents say of a kind's operation. */
function operation(verb: 'create' | 'patch', kind: Kind, description: string): Schema {
  return {
    description,
    operationId: `${verb}${capitalized(groupWords)}${capitalized(version)}${kind}`,
    tags: [groupVersionTag],
    'x-kubernetes-action': verb === 'create' ? 'post' : 'patch',
    'x-kubernetes-group-version-kind': gvk(kind),
  };
}

const createOperation = (kind: Kind) => operation('create', kind, `create ${kindWithArticle(kind)}`);

/**
 * kubectl (through 1.37, the newest checked) decides whether a kind takes server-side field
 * validation from its PATCH operation, even for a create (kubernetes/kubernetes#124760). A
 * kind with no PATCH sends it looking for a CRD of that kind, which needs every caller to
 * list the hub's CRDs: people who may only ask for a token get "failed to check CRD" from
 * every `kubectl create`. A PATCH without the fieldValidation parameter makes kubectl
 * validate the object itself, against these schemas. The operator answers it 404: nothing
 * is stored (ADR 12).
 */
const patchOperation = (kind: Kind) =>
  operation(
    'patch',
    kind,
    `not served: ${kindWithArticle(kind)} is answered when it is created and never stored, so there is none to patch. Listed so that kubectl validates ${kind} fields itself.`,
  );

function openAPIV2(served: readonly Kind[]): Schema {
  const ref = (name: string) => `#/definitions/${definitionName(name)}`;
  const paths = Object.fromEntries(
    served.flatMap((kind): [string, Schema][] => [
      [
        collectionPath(kind),
        {
          post: {
            ...createOperation(kind),
            consumes: ['application/json'],
            produces: ['application/json'],
            schemes: ['https'],
            parameters: [{ name: 'body', in: 'body', required: true, schema: { $ref: ref(kind) } }],
            responses: { '201': { description: 'Created', schema: { $ref: ref(kind) } }, '401': { description: 'Unauthorized' } },
          },
        },
      ],
      [
        namePath(kind),
        { patch: { ...patchOperation(kind), schemes: ['https'], responses: { '404': notFound } }, parameters: [{ ...nameParameter, type: 'string' }] },
      ],
    ]),
  );
  // As Kubernetes' own v2: the description beside the $ref, which kubectl reads.
  const field = (name: string, description: string | undefined) => ({ $ref: ref(name), description });
  return { swagger: '2.0', info, paths, definitions: definitions(served, { target: 'draft-4', field }) };
}

function openAPIV3(served: readonly Kind[]): Schema {
  const ref = (name: string) => `#/components/schemas/${definitionName(name)}`;
  const json = (kind: Kind) => ({ 'application/json': { schema: { $ref: ref(kind) } } });
  const paths = Object.fromEntries(
    served.flatMap((kind): [string, Schema][] => [
      [
        collectionPath(kind),
        {
          post: {
            ...createOperation(kind),
            requestBody: { required: true, content: json(kind) },
            responses: { '201': { description: 'Created', content: json(kind) }, '401': { description: 'Unauthorized' } },
          },
        },
      ],
      [namePath(kind), { patch: { ...patchOperation(kind), responses: { '404': notFound } }, parameters: [{ ...nameParameter, schema: { type: 'string' } }] }],
    ]),
  );
  // As Kubernetes' own v3: OpenAPI 3.0 ignores a $ref's siblings, so the reference goes in allOf.
  const field = (name: string, description: string | undefined) => ({ allOf: [{ $ref: ref(name) }], description });
  return { openapi: '3.0.0', info, paths, components: { schemas: definitions(served, { target: 'openapi-3.0', field }) } };
}

/** The OpenAPI documents for the kinds a door serves (all when not said). */
export function authOpenAPI(served: ReadonlySet<Kind> = new Set(Object.keys(kinds) as Kind[])): AuthOpenAPI {
  const kindsServed = (Object.keys(kinds) as Kind[]).filter((kind) => served.has(kind));
  return { v2: openAPIV2(kindsServed), v3: openAPIV3(kindsServed) };
}
