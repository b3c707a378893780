// The user's kubeconfig: Infra owns the clusters, users and contexts named `infra:*` and
// touches nothing else. Edits go through the yaml Document API, so other entries keep
// their comments and layout; the file is replaced atomically (temp file + rename, 0600).
// A file that does not parse is never overwritten.
import { readFileSync } from 'node:fs';
import { isMap, isScalar, isSeq, parseDocument, YAMLSeq, type Document } from 'yaml';
import type { AccessReviewStatus } from '../api/auth/v1alpha1/types.ts';
import { CliError } from './errors.ts';
import { writeFileAtomic } from './files.ts';

export const prefix = 'infra:';

export interface InfraContext {
  /** infra:<dest> or infra:<dest>.<ns> */
  name: string;
  destination: string;
  namespace?: string;
}

export interface ExecPlugin {
  command: string;
  /** Arguments before `tokens --destination <dest>`, e.g. the CLI's script path. */
  args: string[];
  env?: { name: string; value: string }[];
}

type Destinations = AccessReviewStatus['destinations'];

/** What kubectl prints when the exec entry's command is not found: the one way to fix it. */
export const installHint =
  'infra is not installed or not on your PATH: run `make install` in the Infra checkout (or `npm install -g` the infra package), then try again';

/** The contexts an AccessReview allows: one per reachable destination (with a url) and one per namespace in it. */
export function contextsFor(destinations: Destinations): InfraContext[] {
  const contexts: InfraContext[] = [];
  for (const dest of destinations) {
    if (!dest.url) continue;
    contexts.push({ name: `${prefix}${dest.name}`, destination: dest.name });
    for (const ns of dest.namespaces) contexts.push({ name: `${prefix}${dest.name}.${ns.name}`, destination: dest.name, namespace: ns.name });
  }
  return contexts;
}

/** Parses the kubeconfig at path (absent or empty: a new one); a CliError, the file untouched, when it is malformed. */
export function readKubeconfig(path: string): Document {
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new CliError(`cannot read kubeconfig ${path}: ${(err as Error).message}`);
  }
  const doc = parseDocument(text, { prettyErrors: false });
  const malformed = (why: string) =>
    new CliError(
      `kubeconfig ${path} is not valid YAML (${why}); it was left unchanged: fix it, or point KUBECONFIG at another file, then run the command again`,
    );
  if (doc.errors.length > 0) throw malformed(doc.errors[0]!.message.split('\n')[0]!);
  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) {
    doc.contents = doc.createNode({ apiVersion: 'v1', kind: 'Config', clusters: [], contexts: [], users: [] }) as never;
  }
  if (!isMap(doc.contents)) throw malformed('the top level is not a mapping');
  for (const key of ['clusters', 'contexts', 'users']) {
    const node = doc.get(key, true);
    if (node !== undefined && node !== null && !isSeq(node) && !(isScalar(node) && node.value === null)) throw malformed(`${key} is not a list`);
  }
  return doc;
}

function list(doc: Document, key: string): YAMLSeq {
  const node = doc.get(key, true);
  if (isSeq(node)) return node;
  const seq = new YAMLSeq();
  doc.set(key, seq);
  return seq;
}

function entryName(item: unknown): unknown {
  return isMap(item) ? item.get('name') : undefined;
}

function isInfra(item: unknown): boolean {
  const name = entryName(item);
  return typeof name === 'string' && name.startsWith(prefix);
}

/** Names of the contexts in the document. */
export function contextNames(doc: Document): string[] {
  return list(doc, 'contexts')
    .items.map(entryName)
    .filter((n): n is string => typeof n === 'string');
}

function dropCurrentIfGone(doc: Document): void {
  const current = doc.get('current-context');
  if (typeof current === 'string' && current.startsWith(prefix) && !contextNames(doc).includes(current)) doc.set('current-context', '');
}

/** Replaces every infra:* cluster, user and context with the ones the destinations allow. */
export function mergeInfra(doc: Document, destinations: Destinations, exec: ExecPlugin): InfraContext[] {
  for (const key of ['clusters', 'contexts', 'users']) {
    const seq = list(doc, key);
    seq.items = seq.items.filter((item) => !isInfra(item));
  }
  const contexts = contextsFor(destinations);
  for (const dest of destinations) {
    if (!dest.url) continue;
    const name = `${prefix}${dest.name}`;
    list(doc, 'clusters').add(
      doc.createNode({ name, cluster: { server: dest.url, ...(dest.caBundle ? { 'certificate-authority-data': dest.caBundle } : {}) } }),
    );
    list(doc, 'users').add(
      doc.createNode({
        name,
        user: {
          exec: {
            apiVersion: 'client.authentication.k8s.io/v1',
            command: exec.command,
            args: [...exec.args, 'tokens', '--destination', dest.name],
            ...(exec.env && exec.env.length > 0 ? { env: exec.env } : {}),
            interactiveMode: 'Never',
            provideClusterInfo: false,
            installHint,
          },
        },
      }),
    );
  }
  for (const context of contexts) {
    const cluster = `${prefix}${context.destination}`;
    list(doc, 'contexts').add(
      doc.createNode({ name: context.name, context: { cluster, user: cluster, ...(context.namespace ? { namespace: context.namespace } : {}) } }),
    );
  }
  dropCurrentIfGone(doc);
  return contexts;
}

/** Removes every infra:* entry (logout). */
export function removeInfra(doc: Document): void {
  mergeInfra(doc, [], { command: '', args: [] });
}

export function writeKubeconfig(path: string, doc: Document): void {
  writeFileAtomic(path, doc.toString({ lineWidth: 0 }), 0o600, 0o700);
}

/** Read, change, write: the one way the CLI edits a kubeconfig. */
export function editKubeconfig<T>(path: string, change: (doc: Document) => T): T {
  const doc = readKubeconfig(path);
  const result = change(doc);
  writeKubeconfig(path, doc);
  return result;
}
