// The auth API's OpenAPI through the hub: the operator serves it on its aggregated door,
// the hub's aggregator merges it, and clients other than Infra's use it: kubectl explain,
// kubectl's own field validation, and the official Python client. What the tests expect is
// read from the zod schemas the operator validates with, so a field added without a
// description, or left out of the documents, fails here.
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authOpenAPI, openAPIV3GroupVersionPath, requestMeta } from '../api/auth/v1alpha1/openapi.ts';
import { kinds, type Kind } from '../api/auth/v1alpha1/types.ts';
import { aggregatedKinds } from '../operator/authapi/creates.ts';
import { runCommand } from '../hack/local-infra/command.ts';
import { apiServiceName } from '../hack/local-infra/infra.ts';
import { eventually, type RunningOperator } from '../hack/local-infra/programs.ts';
import { grantObject, kubectl, kubectlOk, startAggregatedOperator, uniqueName, userKubeconfigFile } from '../test/cluster.ts';
import { testDirectory } from '../test/temporary.ts';
import { kubernetesPython } from '../test/python-kubernetes.ts';

const ns = uniqueName('infra');
const destination = uniqueName('dest');
const oncall = uniqueName('oncall');
const suzie = `${uniqueName('suzie')}@example.com`;
const asSuzie = ['--as', suzie, '--as-group', oncall];
let operator: RunningOperator;

const tokenRequest = (spec: object, extra: object = {}) =>
  JSON.stringify({ apiVersion: 'auth.infrahq.com/v1alpha1', kind: 'TokenRequest', metadata: { name: 'mine' }, spec, ...extra });

beforeAll(async () => {
  operator = await startAggregatedOperator(ns);
  const objects = [
    { apiVersion: 'infrahq.com/v1alpha1', kind: 'Destination', metadata: { name: destination }, spec: { kind: 'kubernetes' } },
    grantObject(`${oncall}-view`, { group: `hub:${oncall}`, role: 'view', resource: destination }),
  ];
  await kubectlOk('hub', ['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }) });
  // The aggregator fetches an APIService's OpenAPI on its own schedule after the switch to
  // this operator (and drops what it could not fetch meanwhile); explain needs both merged.
  await eventually(
    async () => {
      const v2 = JSON.parse(await kubectlOk('hub', ['get', '--raw', '/openapi/v2'])) as { definitions: Record<string, unknown> };
      expect(Object.keys(v2.definitions)).toContain('com.infrahq.auth.v1alpha1.TokenRequest');
      const v3 = JSON.parse(await kubectlOk('hub', ['get', '--raw', '/openapi/v3'])) as { paths: Record<string, { serverRelativeURL: string }> };
      expect(Object.keys(v3.paths)).toContain(openAPIV3GroupVersionPath);
      await kubectlOk('hub', ['get', '--raw', v3.paths[openAPIV3GroupVersionPath]!.serverRelativeURL]);
    },
    120_000,
    1_000,
  );
}, 240_000);

afterAll(async () => {
  await operator?.stop();
  await kubectl('hub', ['delete', 'apiservice', apiServiceName, '--ignore-not-found']);
});

/** A field of a kind, as its zod schema declares it: its path below the kind, and its description. */
interface SchemaField {
  path: string[];
  description: string | undefined;
}

/** Every field below an object schema, depth first, looking through optional and array wrappers. */
function schemaFields(schema: z.ZodType, path: string[] = []): SchemaField[] {
  const object = unwrapped(schema);
  if (!(object instanceof z.ZodObject)) return [];
  return Object.entries(object.shape as Record<string, z.ZodType>).flatMap(([name, field]) => [
    { path: [...path, name], description: describedAs(field) },
    ...schemaFields(field, [...path, name]),
  ]);
}

function unwrapped(schema: z.ZodType): z.ZodType {
  if (schema instanceof z.ZodOptional) return unwrapped(schema.unwrap() as z.ZodType);
  if (schema instanceof z.ZodArray) return unwrapped(schema.element as z.ZodType);
  return schema;
}

/** The description of a field: on its outermost schema, or on what it wraps. */
function describedAs(schema: z.ZodType): string | undefined {
  if (schema.description) return schema.description;
  return schema instanceof z.ZodOptional || schema instanceof z.ZodArray ? describedAs(unwrapped(schema)) : undefined;
}

/** The fields of a kind's object as the API declares them: metadata, spec and status from their zod schemas. */
function kindFields(kind: Kind): SchemaField[] {
  const { spec, status } = kinds[kind];
  return [
    { path: ['apiVersion'], description: undefined },
    { path: ['kind'], description: undefined },
    { path: ['metadata'], description: requestMeta.description },
    ...schemaFields(requestMeta, ['metadata']),
    { path: ['spec'], description: spec.description },
    ...schemaFields(spec, ['spec']),
    { path: ['status'], description: status.description },
    ...schemaFields(status, ['status']),
  ];
}

/** The field paths of `kubectl explain --recursive`: one field a line, indented two spaces a level. */
function explainedPaths(output: string): string[] {
  const lines = output.slice(output.indexOf('FIELDS:') + 'FIELDS:'.length).split('\n');
  const parents: string[] = [];
  const paths: string[] = [];
  for (const line of lines) {
    const match = /^( +)(\w+)\s+<[^>]*>/.exec(line);
    if (!match) continue;
    const depth = match[1]!.length / 2 - 1;
    parents.length = depth;
    parents.push(match[2]!);
    paths.push(parents.join('.'));
  }
  return paths;
}

/** Each field's description in a non-recursive `kubectl explain`, whitespace made single (kubectl wraps lines). */
function explainedDescriptions(output: string): Map<string, string> {
  const blocks = output.slice(output.indexOf('FIELDS:') + 'FIELDS:'.length).split(/\n(?= {2}\w+\s+<)/);
  return new Map(
    blocks.flatMap((block) => {
      const match = /^\s*(\w+)\s+<[^>]*>[^\n]*\n([\s\S]*)$/.exec(block);
      return match ? [[match[1]!, oneLine(match[2]!)] as const] : [];
    }),
  );
}

const oneLine = (text: string) => text.replace(/\s+/g, ' ').trim();

describe('the auth API OpenAPI, merged into the hub', () => {
  it("is in the hub's /openapi/v2 and /openapi/v3, as generated from the zod schemas", async () => {
    const expected = authOpenAPI(aggregatedKinds);
    const v2 = JSON.parse(await kubectlOk('hub', ['get', '--raw', '/openapi/v2'])) as { definitions: Record<string, unknown>; paths: Record<string, unknown> };
    for (const [name, definition] of Object.entries(expected.v2.definitions as Record<string, unknown>)) expect(v2.definitions[name], name).toEqual(definition);
    expect(Object.keys(v2.paths)).toEqual(expect.arrayContaining(Object.keys(expected.v2.paths as object)));

    const discovery = JSON.parse(await kubectlOk('hub', ['get', '--raw', '/openapi/v3'])) as { paths: Record<string, { serverRelativeURL: string }> };
    const groupVersion = JSON.parse(await kubectlOk('hub', ['get', '--raw', discovery.paths[openAPIV3GroupVersionPath]!.serverRelativeURL])) as object;
    expect(groupVersion).toEqual(expected.v3);
  });

  for (const kind of aggregatedKinds) {
    const resource = `${kinds[kind].plural}.auth.infrahq.com`;

    it(`kubectl explain ${resource} --recursive lists every field of the schema`, async () => {
      const output = await kubectlOk('hub', ['explain', resource, '--recursive']);
      expect(output).toContain(`KIND:       ${kind}`);
      expect(explainedPaths(output).sort()).toEqual(
        kindFields(kind)
          .map((field) => field.path.join('.'))
          .sort(),
      );
    });

    it(`kubectl explain ${resource} describes every field with its schema's description`, async () => {
      const fields = kindFields(kind);
      const parents = new Set(fields.map((field) => field.path.slice(0, -1).join('.')));
      for (const parent of parents) {
        const output = await kubectlOk('hub', ['explain', parent ? `${resource}.${parent}` : resource]);
        const descriptions = explainedDescriptions(output);
        for (const field of fields.filter((f) => f.path.slice(0, -1).join('.') === parent)) {
          const name = field.path.at(-1)!;
          const explained = descriptions.get(name);
          expect(explained, `${kind} ${field.path.join('.')} is explained`).toBeTruthy();
          // apiVersion and kind are Kubernetes' own fields, described by the generator.
          if (parent === '' && (name === 'apiVersion' || name === 'kind')) continue;
          expect(field.description, `${kind} ${field.path.join('.')} has a description in its zod schema`).toBeTruthy();
          expect(explained).toContain(oneLine(field.description!));
        }
      }
    });
  }

  it('kubectl create --validate=strict refuses unknown fields itself, before the operator sees them', async () => {
    const unknownInSpec = await kubectl('hub', ['create', '--validate=strict', '-f', '-', ...asSuzie], { input: tokenRequest({ destination, colour: 'red' }) });
    expect(unknownInSpec.code).not.toBe(0);
    // kubectl's client-side validation against the merged /openapi/v2, not the operator's Status.
    expect(unknownInSpec.stderr).toMatch(/error validating data: .*unknown field "colour"/);
    expect(unknownInSpec.stderr).toContain('turn validation off with --validate=false');

    // The operator ignores fields beside spec: only kubectl, through the schema, refuses this one.
    const unknownAtTop = await kubectl('hub', ['create', '--validate=strict', '-f', '-', ...asSuzie], {
      input: tokenRequest({ destination }, { colour: 'red' }),
    });
    expect(unknownAtTop.code).not.toBe(0);
    expect(unknownAtTop.stderr).toMatch(/error validating data: .*unknown field "colour"/);

    const valid = await kubectlOk('hub', ['create', '--validate=strict', '-f', '-', ...asSuzie, '-o', 'json'], { input: tokenRequest({ destination }) });
    expect(decodeJwt((JSON.parse(valid) as { status: { token: string } }).status.token).aud).toBe(destination);
  });

  it("the Python kubernetes client's DynamicClient creates a TokenRequest", async () => {
    const python = await kubernetesPython();
    const kubeconfig = await userKubeconfigFile('hub', suzie, [oncall]);
    const discoveryCache = join(testDirectory('infra-python-'), 'discovery.json');
    const result = await runCommand(python, [join(import.meta.dirname, 'python', 'create_token_request.py'), kubeconfig, destination, discoveryCache]);
    expect(result.code, result.stderr).toBe(0);
    const created = JSON.parse(result.stdout) as { kind: string; metadata: { name: string }; spec: { destination: string }; status: { token: string } };
    expect(created).toMatchObject({ kind: 'TokenRequest', metadata: { name: 'from-python' }, spec: { destination } });
    const claims = decodeJwt(created.status.token);
    expect(claims).toMatchObject({ sub: suzie, aud: destination });
  });
});
