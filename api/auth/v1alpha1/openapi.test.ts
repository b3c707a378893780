import { describe, expect, it } from 'vitest';
import { authOpenAPI } from './openapi.ts';
import { kinds, type Kind } from './types.ts';

type Schema = {
  description?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  $ref?: string;
  allOf?: Schema[];
  'x-kubernetes-group-version-kind'?: unknown;
};
type Operation = { parameters?: { name: string }[]; 'x-kubernetes-group-version-kind'?: unknown };
type Document = { paths: Record<string, Record<string, Operation>>; definitions?: Record<string, Schema>; components?: { schemas: Record<string, Schema> } };

const { v2, v3 } = authOpenAPI() as unknown as { v2: Document; v3: Document };
const allKinds = Object.keys(kinds) as Kind[];
const schemasOf = (document: Document) => (document.definitions ?? document.components?.schemas)!;

/** Every property below a schema that has no description, as a dotted path. */
function undescribed(schema: Schema, path: string): string[] {
  const inner = schema.items ?? schema;
  return Object.entries(inner.properties ?? {}).flatMap(([name, property]) => [
    ...(property.description ? [] : [`${path}.${name}`]),
    ...undescribed(property, `${path}.${name}`),
  ]);
}

/** Every $ref anywhere in a value. */
function refs(value: unknown): string[] {
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([key, inner]) => (key === '$ref' && typeof inner === 'string' ? [inner] : refs(inner)));
}

describe.each([
  ['v2', v2, '#/definitions/'],
  ['v3', v3, '#/components/schemas/'],
] as const)('the auth API OpenAPI %s', (_version, document, refPrefix) => {
  const schemas = schemasOf(document);

  it('describes every field of every kind, so kubectl explain is useful', () => {
    expect(Object.entries(schemas).flatMap(([name, schema]) => [...(schema.description ? [] : [name]), ...undescribed(schema, name)])).toEqual([]);
  });

  it('marks each kind with its group, version and kind, as kubectl looks schemas up by them', () => {
    for (const kind of allKinds) {
      expect(schemas[`com.infrahq.auth.v1alpha1.${kind}`]?.['x-kubernetes-group-version-kind']).toEqual([
        { group: 'auth.infrahq.com', kind, version: 'v1alpha1' },
      ]);
    }
  });

  it('refers only to definitions it holds', () => {
    for (const ref of refs(document)) {
      expect(ref.startsWith(refPrefix), ref).toBe(true);
      expect(schemas[ref.slice(refPrefix.length)], ref).toBeDefined();
    }
  });

  it("lists each kind's create, and a PATCH without fieldValidation so kubectl validates fields itself", () => {
    for (const kind of allKinds) {
      const collection = `/apis/auth.infrahq.com/v1alpha1/${kinds[kind].plural}`;
      const gvk = { group: 'auth.infrahq.com', kind, version: 'v1alpha1' };
      expect(document.paths[collection]?.post?.['x-kubernetes-group-version-kind']).toEqual(gvk);
      const patch = document.paths[`${collection}/{name}`]?.patch;
      expect(patch?.['x-kubernetes-group-version-kind']).toEqual(gvk);
      expect(patch?.parameters ?? []).not.toContainEqual(expect.objectContaining({ name: 'fieldValidation' }));
    }
  });
});

describe('authOpenAPI', () => {
  it('documents only the kinds a door serves', () => {
    const { v2: served } = authOpenAPI(new Set<Kind>(['TokenRequest'])) as unknown as { v2: Document };
    expect(Object.keys(served.paths)).toEqual(['/apis/auth.infrahq.com/v1alpha1/tokenrequests', '/apis/auth.infrahq.com/v1alpha1/tokenrequests/{name}']);
    expect(Object.keys(schemasOf(served)).sort()).toEqual(
      ['ObjectMeta', 'TokenRequest', 'TokenRequestSpec', 'TokenRequestStatus'].map((name) => `com.infrahq.auth.v1alpha1.${name}`),
    );
  });

  it('takes spec fields from the zod schema that validates the request', () => {
    const spec = schemasOf(v3)['com.infrahq.auth.v1alpha1.TokenRequestSpec'];
    expect(spec).toMatchObject({ type: 'object', required: ['destination'], properties: { destination: { type: 'string' } } });
    expect(spec?.properties?.destination?.description).toBe(kinds.TokenRequest.spec.shape.destination.description);
  });
});
