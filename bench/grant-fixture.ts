// The hub and spoke of a large installation, for the connector scenarios: namespaces in
// the spoke and Grants for one destination in the hub, spread over many users, some
// groups, three roles and every namespace. They go with the scenario's control plane.
import { CoreV1Api, CustomObjectsApi, type RbacV1Subject } from '@kubernetes/client-node';
import { resources, type Grant } from '../api/v1alpha1/types.ts';
import { bindingName, subjectOf } from '../connector/rbac/desired.ts';
import { destinationLabel } from '../api/grants.ts';
import { boundedLoad, uniqueName, type BenchContext } from './harness.ts';
import { bindingId, subjectId, type BindingId } from './spoke-bindings.ts';

export interface FixtureSizes {
  grants: number;
  namespaces: number;
}

export interface GrantFixture {
  /** The value of the run label on everything the fixture created. */
  run: string;
  namespaces: string[];
  grants: Grant[];
  /** The RoleBindings the connector must keep, with their subjects. */
  expected: Map<BindingId, RbacV1Subject[]>;
}

export const runLabel = 'bench.infrahq.com/run';
const roles = ['view', 'edit', 'admin'] as const;
const concurrency = 32;
const { group, version, plural } = resources.Grant;

/**
 * Grant k goes to namespace k mod namespaces, so every namespace holds the same number
 * of Grants, spread over the three roles; one in ten is to a group (50 of them), the
 * rest to users (one per five Grants). Each Grant carries the destination label, as the
 * operator would write it: the connector sees the Grants without waiting for the
 * operator to label ten thousand of them.
 */
export function fixtureGrants(run: string, destination: string, namespaces: readonly string[], count: number): Grant[] {
  const users = Math.max(1, Math.floor(count / 5));
  return Array.from({ length: count }, (_, k) => ({
    apiVersion: `${group}/${version}`,
    kind: 'Grant',
    metadata: { name: `${run}-${k}`, labels: { [runLabel]: run, [destinationLabel]: destination } },
    spec: {
      ...(k % 10 === 0 ? { group: `${run}-team-${k % 50}` } : { user: `user-${k % users}@${run}.example.com` }),
      role: roles[Math.floor(k / namespaces.length) % roles.length]!,
      resource: `${destination}.${namespaces[k % namespaces.length]}`,
    },
  }));
}

/** The bindings the Grants should produce: per (namespace, role), their subjects once each. */
export function expectedBindings(grants: readonly Grant[]): Map<BindingId, RbacV1Subject[]> {
  const expected = new Map<BindingId, Map<string, RbacV1Subject>>();
  for (const grant of grants) {
    const namespace = grant.spec.resource.split('.')[1]!;
    const id = bindingId(namespace, bindingName(grant.spec.role, 0));
    const subjects = expected.get(id) ?? new Map<string, RbacV1Subject>();
    const subject = subjectOf(grant);
    subjects.set(subjectId(subject.kind, subject.name), subject);
    expected.set(id, subjects);
  }
  return new Map([...expected].map(([id, subjects]) => [id, [...subjects.values()]]));
}

/** Creates the namespaces and the Grants, 32 requests in flight. */
export async function grantFixture(ctx: BenchContext, destination: string, sizes: FixtureSizes): Promise<GrantFixture> {
  const run = uniqueName('bg');
  const core = ctx.spoke.makeApiClient(CoreV1Api);
  const custom = ctx.hub.makeApiClient(CustomObjectsApi);
  const namespaces = Array.from({ length: sizes.namespaces }, (_, i) => `${run}-${i}`);
  const grants = fixtureGrants(run, destination, namespaces, sizes.grants);

  const start = performance.now();
  await boundedLoad(namespaces.length, concurrency, Infinity, (i) =>
    core.createNamespace({ body: { metadata: { name: namespaces[i]!, labels: { [runLabel]: run } } } }).then(() => undefined),
  );
  await boundedLoad(grants.length, concurrency, Infinity, (i) =>
    custom.createClusterCustomObject({ group, version, plural, body: grants[i]! }).then(() => undefined),
  );
  ctx.log(
    `created ${namespaces.length} namespaces in the spoke and ${grants.length} Grants in the hub in ${((performance.now() - start) / 1000).toFixed(1)} s`,
  );
  return { run, namespaces, grants, expected: expectedBindings(grants) };
}
