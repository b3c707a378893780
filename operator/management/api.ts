// The management API on the operator's public door: Grants, Users, Groups, Providers and
// Destinations for the CLI, at the same paths and in the same shapes as the hub's CRDs
// (`/apis/infrahq.com/v1alpha1/grants`...). Who may do what is decided by Grants on the
// reserved resource `infra` (view: get and list; admin: also create, patch and delete),
// not by the hub's RBAC: the operator reads from its caches and writes with its own
// identity, recording who asked.
import { KubernetesObjectApi, PatchStrategy, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import express, { type Request, type Response } from 'express';
import { resources, type Grant, type GrantSpec, type Provider } from '../../api/v1alpha1/types.ts';
import { cachedAtOrPast } from '../../lib/controller/read-your-writes.ts';
import type { Logger } from '../../lib/log.ts';
import { StatusError } from '../../lib/status-error.ts';
import { infraRole, type InfraRole } from '../access.ts';
import type { Authenticator, Caller } from '../http/caller.ts';
import { maxBodyBytes } from '../http/body.ts';
import { answerError, authenticationFailed, errorMiddleware } from '../http/status.ts';
import { subjectKey, type Hub } from '../hub.ts';
import { providerSecretBinding, providerSecretName, secretRefProblem } from '../secret-refs.ts';
import { grantName, userName } from '../names.ts';
import { forward, settled, type Cache } from './writes.ts';
import type { ConnectorIdentities } from '../connector-identity.ts';
import { parseDuration } from '../../api/duration.ts';
import type { BootstrapRequest } from '../../api/connector-bootstrap.ts';

const group = 'infrahq.com';
const version = 'v1alpha1';
const apiVersion = `${group}/${version}`;
const fieldManager = 'infra-management';
export const createdByAnnotation = 'infrahq.com/created-by';

type Kind = keyof typeof resources;
type Plural = (typeof resources)[Kind]['plural'];
type Verb = 'get' | 'list' | 'create' | 'patch' | 'delete';

export interface ManagementDeps {
  hub: Hub;
  kubeConfig: KubeConfig;
  /** The operator's namespace, where a Provider's client secret is kept. */
  namespace: string;
  bootstrapAdmins: readonly string[];
  /** Each destination's connector identity in the hub, made by `infra destinations add`. */
  connectors: ConnectorIdentities;
  /** How long a bootstrap credential may be exchanged when the request does not say. */
  bootstrapLifetimeMs: number;
  audit: Logger;
  logger: Logger;
}

/** The longest a bootstrap credential may wait for its connector. */
const maxBootstrapLifetimeMs = 7 * 86_400_000;

const kindOf = new Map(Object.values(resources).map((r) => [r.plural as string, r.kind]));

const resourceList = {
  kind: 'APIResourceList',
  apiVersion: 'v1',
  groupVersion: apiVersion,
  resources: Object.values(resources).map(({ kind, plural }) => ({
    name: plural,
    singularName: kind.toLowerCase(),
    namespaced: false,
    kind,
    verbs: ['get', 'list', 'create', 'patch', 'delete'],
  })),
};

export function managementAPI(deps: ManagementDeps, authenticate: Authenticator): express.Router {
  const objects = KubernetesObjectApi.makeApiClient(deps.kubeConfig);
  const caches: Record<Plural, Cache> = {
    grants: deps.hub.grants,
    users: deps.hub.users,
    groups: deps.hub.groups,
    providers: deps.hub.providers,
    destinations: deps.hub.destinations,
    accessrequests: deps.hub.accessRequests,
    accesspolicies: deps.hub.accessPolicies,
  };

  const router = express.Router();
  const base = `/apis/${group}/${version}`;
  router.get(base, (_req, res) => void res.json(resourceList));

  /** Resolves the kind and the caller, and checks the caller's role allows the verb. */
  const route = (verb: Verb, handle: (kind: Kind, caller: Caller, req: Request, res: Response) => Promise<void>) => async (req: Request, res: Response) => {
    try {
      const kind = kindOf.get(String(req.params['plural']));
      if (!kind) throw new StatusError(404, 'NotFound', `the server could not find the requested resource ${String(req.params['plural'])}.${group}`);
      const caller = await authenticate(req);
      if (!caller) throw authenticationFailed();
      authorize(deps, caller, verb, kind);
      await handle(kind, caller, req, res);
    } catch (err) {
      answerError(res, err, deps.logger, { api: 'management', verb, resource: req.params['plural'] });
    }
  };
  const informer = (kind: Kind) => caches[resources[kind].plural];

  router.get(
    `${base}/:plural`,
    route('list', async (kind, _caller, _req, res) => {
      const items = [...informer(kind).list()].sort((a, b) => a.metadata!.name!.localeCompare(b.metadata!.name!));
      res.json({ apiVersion, kind: `${kind}List`, metadata: {}, items });
    }),
  );

  router.get(
    `${base}/:plural/:name`,
    route('get', async (kind, _caller, req, res) => {
      res.json(found(informer(kind), kind, String(req.params['name'])));
    }),
  );

  router.post(
    `${base}/:plural`,
    express.json({ limit: maxBodyBytes, type: () => true }),
    route('create', async (kind, caller, req, res) => {
      const { object, clientSecret } = creatable(kind, req.body as unknown, caller);
      refuseOperatorSecrets(kind, object.metadata!.name!, object.spec);
      if (kind === 'Grant') {
        const existing = sameGrant(deps.hub, object.spec as unknown as GrantSpec);
        if (existing) return void res.status(200).json(existing);
      }
      // The Provider first: the hub refuses it when one of that name exists, so the create
      // of an existing Provider never overwrites that Provider's Secret.
      const created = await forward(() => objects.create(object, undefined, undefined, fieldManager));
      if (clientSecret !== undefined) await storeClientSecret(objects, deps.namespace, created as unknown as Provider, clientSecret);
      await settled(informer(kind), created.metadata!.name!, (cached) => cached !== undefined);
      deps.audit.info(
        { action: `${kind.toLowerCase()}.created`, by: caller.identity.email, name: created.metadata!.name, spec: (created as { spec?: unknown }).spec },
        `${kind} created`,
      );
      res.status(201).json(created);
    }),
  );

  // `infra destinations add`: the Destination, its connector's identity and a bootstrap credential.
  router.post(
    `${base}/:plural/:name/bootstrap`,
    express.json({ limit: maxBodyBytes, type: () => true }),
    route('create', async (kind, caller, req, res) => {
      if (kind !== 'Destination') throw new StatusError(404, 'NotFound', `only destinations have a bootstrap credential, not ${resources[kind].plural}`);
      const name = String(req.params['name']);
      const bootstrap = await deps.connectors.add(
        name,
        bootstrapLifetime(req.body as BootstrapRequest | undefined, deps.bootstrapLifetimeMs),
        caller.identity.email,
      );
      await settled(informer(kind), name, (cached) => cached !== undefined);
      deps.audit.info(
        { action: 'destination.bootstrap', by: caller.identity.email, name, expiresAt: bootstrap.expiresAt },
        'connector bootstrap credential issued',
      );
      res.status(201).json(bootstrap);
    }),
  );

  router.patch(
    `${base}/:plural/:name`,
    express.json({ limit: maxBodyBytes, type: () => true }),
    route('patch', async (kind, caller, req, res) => {
      const name = String(req.params['name']);
      if (req.headers['content-type']?.split(';')[0] !== 'application/merge-patch+json') {
        throw new StatusError(415, 'UnsupportedMediaType', 'send a JSON merge patch (Content-Type: application/merge-patch+json)');
      }
      const patch = req.body as { spec?: unknown; metadata?: { resourceVersion?: unknown } };
      if (typeof patch !== 'object' || patch === null || Array.isArray(patch) || Object.keys(patch).some((k) => k !== 'spec' && k !== 'metadata')) {
        throw new StatusError(422, 'Invalid', `a patch of a ${kind} may change only spec (and carry metadata.resourceVersion)`);
      }
      const resourceVersion = typeof patch.metadata?.resourceVersion === 'string' ? patch.metadata.resourceVersion : undefined;
      found(informer(kind), kind, name);
      refuseOperatorSecrets(kind, name, patch.spec);
      const body = { apiVersion, kind, metadata: { name, ...(resourceVersion ? { resourceVersion } : {}) }, spec: patch.spec };
      const patched = await forward(() => objects.patch(body, undefined, undefined, fieldManager, undefined, PatchStrategy.MergePatch));
      const rv = patched.metadata.resourceVersion;
      await settled(informer(kind), name, (cached) => cachedAtOrPast(cached, rv));
      deps.audit.info(
        { action: `${kind.toLowerCase()}.patched`, by: caller.identity.email, name, spec: (patched as { spec?: unknown }).spec },
        `${kind} changed`,
      );
      res.json(patched);
    }),
  );

  router.delete(
    `${base}/:plural/:name`,
    route('delete', async (kind, caller, req, res) => {
      const name = String(req.params['name']);
      const existing = found(informer(kind), kind, name);
      await forward(() => objects.delete({ apiVersion, kind, metadata: { name } }));
      await settled(informer(kind), name, (cached) => cached === undefined);
      deps.audit.info(
        { action: `${kind.toLowerCase()}.deleted`, by: caller.identity.email, name, spec: (existing as { spec?: unknown }).spec },
        `${kind} deleted`,
      );
      res.json({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name, group, kind: resources[kind].plural } });
    }),
  );

  router.use(errorMiddleware(deps.logger, 'management'));
  return router;
}

function bootstrapLifetime(request: BootstrapRequest | undefined, fallbackMs: number): number {
  const text = request?.expiresIn;
  if (text === undefined) return fallbackMs;
  const ms = typeof text === 'string' ? parseDuration(text) : undefined;
  if (ms === undefined || ms < 1_000 || ms > maxBootstrapLifetimeMs) {
    throw new StatusError(422, 'Invalid', `expiresIn: "${String(text)}" must be a duration between 1s and 7d, like 30m or 1h`);
  }
  return ms;
}

function authorize(deps: ManagementDeps, caller: Caller, verb: Verb, kind: Kind): void {
  if (deps.hub.userByEmail(caller.identity.email)?.status?.passwordChangeRequired) {
    throw new StatusError(403, 'Forbidden', 'you must change your one-time password first: run `infra login` again');
  }
  const role: InfraRole | undefined = infraRole(deps.hub, caller.identity, deps.bootstrapAdmins);
  const allowed = role === 'admin' || (role === 'view' && (verb === 'get' || verb === 'list'));
  if (allowed) return;
  const plural = resources[kind].plural;
  const needed = verb === 'get' || verb === 'list' ? 'view or admin' : 'admin';
  throw new StatusError(403, 'Forbidden', `${caller.identity.email} may not ${verb} ${plural}: that needs a Grant with role ${needed} on resource infra`);
}

/** 422 for a Secret reference in a (partial) spec that names one of the operator's own Secrets. */
function refuseOperatorSecrets(kind: Kind, name: string, spec: unknown): void {
  if (kind !== 'Provider' && kind !== 'User') return;
  const refs = secretRefsIn(kind, spec);
  for (const [field, secretName] of refs) {
    const problem = secretRefProblem({ kind, name }, secretName);
    if (problem) throw new StatusError(422, 'Invalid', `${kind} is invalid: spec.${field}.name: ${problem}`);
  }
}

function secretRefsIn(kind: 'Provider' | 'User', spec: unknown): [string, string][] {
  const at = (value: unknown, ...path: string[]): unknown =>
    path.reduce<unknown>((v, key) => (typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[key] : undefined), value);
  const fields = kind === 'Provider' ? [['clientSecretRef'], ['google', 'serviceAccountSecretRef']] : [['passwordSecretRef']];
  return fields.flatMap((path) => {
    const secretName = at(spec, ...path, 'name');
    return typeof secretName === 'string' ? [[path.join('.'), secretName] as [string, string]] : [];
  });
}

function found(informer: Cache, kind: Kind, name: string): KubernetesObject {
  const object = informer.get(name);
  if (!object) throw new StatusError(404, 'NotFound', `${resources[kind].plural}.${group} "${name}" not found`);
  return object;
}

/**
 * The object to create from a request body: apiVersion and kind must match the path;
 * only metadata.name, labels and annotations and the spec are taken (status is the
 * controllers'); a missing name is derived from the spec. A Provider may carry its
 * client secret beside the object, which goes to a Secret, never into the Provider.
 */
function creatable(kind: Kind, body: unknown, caller: Caller): { object: KubernetesObject & { spec: Record<string, unknown> }; clientSecret?: string } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new StatusError(400, 'BadRequest', `the request body must be a ${kind} object`);
  const {
    apiVersion: av,
    kind: k,
    metadata,
    spec,
    clientSecret,
  } = body as {
    apiVersion?: unknown;
    kind?: unknown;
    metadata?: { name?: unknown; labels?: unknown; annotations?: unknown };
    spec?: unknown;
    clientSecret?: unknown;
  };
  if (av !== apiVersion || k !== kind)
    throw new StatusError(400, 'BadRequest', `expected apiVersion ${apiVersion} and kind ${kind}, got ${String(av)} ${String(k)}`);
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) throw new StatusError(422, 'Invalid', `${kind} is invalid: spec: must be an object`);
  if (clientSecret !== undefined && (kind !== 'Provider' || typeof clientSecret !== 'string' || clientSecret === '')) {
    throw new StatusError(422, 'Invalid', 'clientSecret: only a Provider carries one, as a non-empty string');
  }
  const typedSpec = spec as Record<string, unknown>;
  const name = typeof metadata?.name === 'string' && metadata.name !== '' ? metadata.name : derivedName(kind, typedSpec);
  const annotations = { ...(isStringMap(metadata?.annotations) ? metadata.annotations : {}), [createdByAnnotation]: caller.identity.email };
  const object = {
    apiVersion,
    kind,
    metadata: { name, ...(isStringMap(metadata?.labels) ? { labels: metadata.labels } : {}), annotations },
    spec: typedSpec,
  };
  return clientSecret === undefined ? { object } : { object: withSecretRef(object), clientSecret };
}

function derivedName(kind: Kind, spec: Record<string, unknown>): string {
  const text = (field: string) => {
    const value = spec[field];
    if (typeof value !== 'string' || value === '')
      throw new StatusError(422, 'Invalid', `${kind} is invalid: spec.${field}: is required (or set metadata.name)`);
    return value;
  };
  switch (kind) {
    case 'Grant': {
      const subjects = ['user', 'group'].filter((f) => typeof spec[f] === 'string');
      if (subjects.length !== 1) throw new StatusError(422, 'Invalid', 'Grant is invalid: spec: set exactly one of user (an email) or group (a group name)');
      text('role');
      text('resource');
      return grantName(spec as unknown as GrantSpec);
    }
    case 'User':
      return userName(text('email'));
    case 'Group':
      throw new StatusError(422, 'Invalid', "Group is invalid: metadata.name: is required (it is the group's name in Grants)");
    default:
      throw new StatusError(422, 'Invalid', `${kind} is invalid: metadata.name: is required`);
  }
}

const providerSecretKey = 'clientSecret';

function withSecretRef<T extends { metadata: { name: string }; spec: Record<string, unknown> }>(provider: T): T {
  return { ...provider, spec: { ...provider.spec, clientSecretRef: { name: providerSecretName(provider.metadata.name), key: providerSecretKey } } };
}

/**
 * Writes a new Provider's client secret, bound to it and its issuer (secret-refs.ts) and
 * owned by it, so the Secret goes when the Provider does. When the write fails the
 * Provider is deleted again, leaving nothing half made.
 */
async function storeClientSecret(objects: KubernetesObjectApi, namespace: string, provider: Provider, clientSecret: string): Promise<void> {
  const name = provider.metadata.name!;
  const binding = providerSecretBinding(name, provider.spec.issuer);
  const secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: providerSecretName(name),
      namespace,
      labels: { 'app.kubernetes.io/part-of': 'infra', ...binding.labels },
      annotations: binding.annotations,
      ownerReferences: [{ apiVersion, kind: 'Provider', name, uid: provider.metadata.uid! }],
    },
    type: 'Opaque',
    data: { [providerSecretKey]: Buffer.from(clientSecret).toString('base64') },
  };
  try {
    await forward(() => objects.patch(secret, undefined, undefined, fieldManager, true, PatchStrategy.ServerSideApply));
  } catch (err) {
    await objects.delete({ apiVersion, kind: 'Provider', metadata: { name } }).catch(() => undefined);
    throw err;
  }
}

function isStringMap(value: unknown): value is Record<string, string> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.values(value).every((v) => typeof v === 'string');
}

/** A Grant already giving the same subject the same role on the same resource (and expiry). */
function sameGrant(hub: Hub, spec: GrantSpec): Grant | undefined {
  const subject = subjectKey({ spec } as Grant);
  return hub.grants
    .byIndex('subject', subject)
    .find((g) => g.spec.role === spec.role && g.spec.resource === spec.resource && g.spec.expiresAt === spec.expiresAt);
}
