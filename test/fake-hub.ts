// A Hub for unit tests: operator/hub.ts's own methods (userByEmail, builtInGroups) over
// in-memory informers that carry the same indexes as the real ones, so code that answers
// from the hub's caches runs unchanged without a cluster.
import type { V1Secret } from '@kubernetes/client-node';
import { grantDestination } from '../api/grants.ts';
import type { AccessPolicy, AccessRequest, Destination, Grant, Group, Provider, User } from '../api/v1alpha1/types.ts';
import { grantIndex, Hub, subjectKey, userIndex } from '../operator/hub.ts';
import { FakeInformer } from './fake-informer.ts';

export interface FakeHubObjects {
  grants?: Grant[];
  users?: User[];
  groups?: Group[];
  providers?: Provider[];
  destinations?: Destination[];
  accessRequests?: AccessRequest[];
  accessPolicies?: AccessPolicy[];
  credentials?: V1Secret[];
}

export interface FakeHub {
  hub: Hub;
  grants: FakeInformer<Grant>;
  users: FakeInformer<User>;
  groups: FakeInformer<Group>;
  providers: FakeInformer<Provider>;
  destinations: FakeInformer<Destination>;
  accessRequests: FakeInformer<AccessRequest>;
  accessPolicies: FakeInformer<AccessPolicy>;
  credentials: FakeInformer<V1Secret>;
}

export function fakeHub(objects: FakeHubObjects = {}): FakeHub {
  const fakes = {
    grants: new FakeInformer(objects.grants),
    users: new FakeInformer(objects.users),
    groups: new FakeInformer(objects.groups),
    providers: new FakeInformer(objects.providers),
    destinations: new FakeInformer(objects.destinations),
    accessRequests: new FakeInformer(objects.accessRequests),
    accessPolicies: new FakeInformer(objects.accessPolicies),
    credentials: new FakeInformer(objects.credentials),
  };
  // The indexes Hub's constructor adds to its informers.
  fakes.grants.addIndex(grantIndex.bySubject, (grant) => [subjectKey(grant)]);
  fakes.grants.addIndex(grantIndex.byDestination, (grant) => [grantDestination(grant)]);
  fakes.users.addIndex(userIndex.byEmail, (user) => [user.spec.email.toLowerCase()]);
  fakes.users.addIndex(userIndex.byIdPGroup, (user) => user.status?.groups ?? []);
  fakes.groups.addIndex('member', (group) => (group.spec.members ?? []).map((m) => m.toLowerCase()));
  const hub = Object.assign(Object.create(Hub.prototype) as Hub, {
    grants: fakes.grants.informer,
    users: fakes.users.informer,
    groups: fakes.groups.informer,
    providers: fakes.providers.informer,
    destinations: fakes.destinations.informer,
    accessRequests: fakes.accessRequests.informer,
    accessPolicies: fakes.accessPolicies.informer,
    credentials: fakes.credentials.informer,
  });
  return { hub, ...fakes };
}

export function grant(name: string, spec: Grant['spec'], status?: Grant['status']): Grant {
  return { apiVersion: 'infrahq.com/v1alpha1', kind: 'Grant', metadata: { name, generation: 1 }, spec, ...(status ? { status } : {}) };
}

export function user(name: string, email: string, status?: User['status']): User {
  return { apiVersion: 'infrahq.com/v1alpha1', kind: 'User', metadata: { name, generation: 1 }, spec: { email }, ...(status ? { status } : {}) };
}

export function group(name: string, members: string[]): Group {
  return { apiVersion: 'infrahq.com/v1alpha1', kind: 'Group', metadata: { name, generation: 1 }, spec: { members } };
}

export function destination(name: string, spec: Partial<Destination['spec']> = {}, status?: Destination['status']): Destination {
  return {
    apiVersion: 'infrahq.com/v1alpha1',
    kind: 'Destination',
    metadata: { name, generation: 1 },
    spec: { kind: 'kubernetes', ...spec },
    ...(status ? { status } : {}),
  };
}

/** A Provider as far as group sources care: it exists, under its name. */
export function provider(name: string): Provider {
  return {
    apiVersion: 'infrahq.com/v1alpha1',
    kind: 'Provider',
    metadata: { name, generation: 1 },
    spec: { kind: 'oidc', issuer: `https://${name}.example.com`, clientID: name, clientSecretRef: { name, key: 'clientSecret' } },
  };
}
