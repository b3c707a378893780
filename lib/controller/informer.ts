// A shared informer on @kubernetes/client-node's ListWatch that does what a controller
// needs and ListWatch alone does not: it restarts itself after any watch or list error
// (ListWatch only recovers from 410 Gone), keeps serving its last known objects while
// disconnected, maintains named indexes, calls handlers that cannot throw into it, and can
// watch the objects on their way into its label selector into the same cache.
import { ListWatch, Watch, type KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { errorMessage } from '../errors.ts';
import { intern } from '../intern.ts';

export type IndexFunction<T> = (obj: T) => string[];
export type EventHandler<T> = (obj: T, event: 'add' | 'update' | 'delete') => void;

/** One page of a list: pass every field to the client's list call. */
export interface ListPage {
  limit: number;
  _continue?: string;
  /** The selector of the watch this list starts (labelSelector or incomingSelector). */
  labelSelector?: string;
  /** Set only when the informer looks up one object that left the incoming watch. */
  fieldSelector?: string;
}

/** Objects per list request by default, as client-go's reflector pages its lists. */
export const defaultListPageSize = 500;

export interface InformerOptions<T extends KubernetesObject> {
  kubeConfig: KubeConfig;
  /** Collection path, e.g. /apis/infrahq.com/v1alpha1/grants. */
  path: string;
  /** Lists one page; the informer pages through the collection with it. */
  list: (page: ListPage) => Promise<KubernetesListObject<T>>;
  /** Objects per list request; 500 unless set. */
  listPageSize?: number;
  labelSelector?: string;
  /**
   * Objects on their way into labelSelector, watched too, into the same cache: e.g. the
   * Grants the operator has not labelled yet, which a connector binds from their first
   * event. The two selectors must select disjoint sets. An object that leaves one watch
   * for the other arrives as a DELETED on one and an ADDED on the other, in either order,
   * and the DELETED cannot tell a move from a deletion (it carries the object as it was).
   * So a DELETED whose object the other watch holds is no deletion, and one from the
   * incoming watch keeps its object cached, with no event, for incomingGraceMs: the other
   * watch's ADDED, if any, replaces it; otherwise handlers see it deleted then.
   */
  incomingSelector?: string;
  /** How long an object that left the incoming watch waits for the other; 1 s unless set. */
  incomingGraceMs?: number;
  /**
   * Objects whose deletion handlers must see without the grace (e.g. Grants this connector
   * has bound): when one leaves the incoming watch and the other does not hold it yet, the
   * informer lists it by name under labelSelector, a consistent read. Not there: it was
   * deleted (or left for a third selector), and handlers see it deleted at once. There: it
   * (or a namesake, which replaces it as any update would) is on its way, and the other
   * watch's ADDED follows. At most a few lookups run at a time; past that, and when one
   * fails, the grace decides as before.
   */
  lookUpLeaving?: (obj: T) => boolean;
  logger: Logger;
  /** Restart delay after an error: doubles from this, capped at 10 s. */
  restartDelayMs?: number;
  /**
   * The object handlers and the cache get in place of each one the API server sends
   * (client-go's transform): keep only what they read. Listed objects are transformed a
   * page at a time, so a large first list never holds its objects whole; watched ones as
   * each event is parsed, before the cache holds them. It must keep metadata.name,
   * namespace and resourceVersion, which the cache and the watch run on. managedFields
   * are dropped from the cache anyway, once the handlers have seen them.
   */
  transform?: (obj: T) => T;
}

const maxRestartDelayMs = 10_000;
const defaultIncomingGraceMs = 1000;
/** Lookups of objects that left the incoming watch in flight at once, at most. */
const maxLeavingLookups = 8;

/** One label selector's list and watch, restarted on its own after an error. */
interface SelectorWatch<T extends KubernetesObject> {
  listWatch: ListWatch<T>;
  restartDelayMs: number;
  restartTimer: NodeJS.Timeout | undefined;
  listed: boolean;
}

/** namespace/name, or name for cluster-scoped objects: the key controllers queue. */
export function objectKey(obj: KubernetesObject): string {
  const { namespace, name } = obj.metadata ?? {};
  return namespace ? `${namespace}/${name}` : (name ?? '');
}

export class Informer<T extends KubernetesObject> {
  private readonly settled: SelectorWatch<T>;
  private readonly incoming: SelectorWatch<T> | undefined;
  /** Objects that left the incoming watch and have not arrived in the settled one (yet). */
  private readonly leaving = new Map<string, { obj: T; timer: NodeJS.Timeout }>();
  private readonly incomingGraceMs: number;
  private readonly lookUpLeaving: ((obj: T) => boolean) | undefined;
  private readonly lookUp: (obj: T) => Promise<KubernetesListObject<T>>;
  private leavingLookups = 0;
  private readonly indexers = new Map<string, IndexFunction<T>>();
  private readonly indexes = new Map<string, Map<string, Set<string>>>();
  /** Each indexed object's values, one entry per index in the order added: what its next event removes. */
  private readonly indexedValues = new Map<string, IndexedValues[]>();
  private readonly handlers: EventHandler<T>[] = [];
  private readonly logger: Logger;
  private readonly baseDelayMs: number;
  private readonly transform: ((obj: T) => T) | undefined;
  private synced = false;
  private stopped = true;
  private readonly syncWaiters: (() => void)[] = [];

  constructor(options: InformerOptions<T>) {
    this.logger = options.logger.child({ informer: options.path });
    this.baseDelayMs = options.restartDelayMs ?? 500;
    this.transform = options.transform;
    this.incomingGraceMs = options.incomingGraceMs ?? defaultIncomingGraceMs;
    this.lookUpLeaving = options.lookUpLeaving;
    this.lookUp = (obj) => {
      const { name, namespace } = obj.metadata ?? {};
      const fieldSelector = namespace ? `metadata.name=${name},metadata.namespace=${namespace}` : `metadata.name=${name}`;
      return options.list({ limit: 1, fieldSelector, ...(options.labelSelector === undefined ? {} : { labelSelector: options.labelSelector }) });
    };
    this.settled = this.selectorWatch(options, options.labelSelector);
    this.incoming = options.incomingSelector === undefined ? undefined : this.selectorWatch(options, options.incomingSelector);
  }

  private selectorWatch(options: InformerOptions<T>, labelSelector: string | undefined): SelectorWatch<T> {
    const limit = options.listPageSize ?? defaultListPageSize;
    const selected = labelSelector === undefined ? {} : { labelSelector };
    const list = async (): Promise<KubernetesListObject<T>> => {
      // Pages of one list share its resourceVersion, the one the watch starts from.
      const items: T[] = [];
      let page: KubernetesListObject<T> | undefined;
      let next: string | undefined;
      do {
        page = await options.list({ limit, ...(next ? { _continue: next } : {}), ...selected });
        items.push(...(this.transform ? page.items.map(this.transform) : page.items));
        next = continueToken(page);
      } while (next);
      // ListWatch fills its cache synchronously once this promise settles; a macrotask
      // runs after that, so waitForSync() resolves with the cache already filled.
      setImmediate(() => this.markListed(watch));
      return { ...page, items, metadata: { resourceVersion: page.metadata?.resourceVersion } };
    };
    const client = this.transform ? new TransformingWatch(options.kubeConfig, this.transform) : new Watch(options.kubeConfig);
    const watch: SelectorWatch<T> = {
      listWatch: new ListWatch(options.path, client, list, false, labelSelector),
      restartDelayMs: this.baseDelayMs,
      restartTimer: undefined,
      listed: false,
    };
    watch.listWatch.on('add', (obj) => this.dispatch(obj, 'add'));
    watch.listWatch.on('update', (obj) => this.dispatch(obj, 'update'));
    watch.listWatch.on('delete', (obj) => this.left(watch, obj));
    watch.listWatch.on('connect', () => {
      watch.restartDelayMs = this.baseDelayMs;
    });
    watch.listWatch.on('error', (err) => this.scheduleRestart(watch, err));
    return watch;
  }

  /** Adds an index; call before start(). */
  addIndex(name: string, fn: IndexFunction<T>): void {
    this.indexers.set(name, fn);
    this.indexes.set(name, new Map());
  }

  /** Registers a handler; it should only enqueue work. Errors it throws are logged. */
  onChange(handler: EventHandler<T>): void {
    this.handlers.push(handler);
  }

  private get watches(): SelectorWatch<T>[] {
    return this.incoming ? [this.settled, this.incoming] : [this.settled];
  }

  async start(): Promise<void> {
    this.stopped = false;
    await Promise.all(this.watches.map((watch) => this.connect(watch)));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const { timer } of this.leaving.values()) clearTimeout(timer);
    this.leaving.clear();
    await Promise.all(
      this.watches.map((watch) => {
        clearTimeout(watch.restartTimer);
        return watch.listWatch.stop();
      }),
    );
  }

  /** Resolves once the first list has filled the cache. */
  waitForSync(): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  get hasSynced(): boolean {
    return this.synced;
  }

  get(name: string, namespace?: string): T | undefined {
    const obj = this.settled.listWatch.get(name, namespace) ?? this.incoming?.listWatch.get(name, namespace);
    return obj ?? (this.leaving.size > 0 ? this.leaving.get(namespace ? `${namespace}/${name}` : name)?.obj : undefined);
  }

  list(): readonly T[] {
    if (!this.incoming) return this.settled.listWatch.list();
    // For a moment during a move, an object is in both watches' caches: listed once.
    const objects = new Map<string, T>();
    for (const [key, { obj }] of this.leaving) objects.set(key, obj);
    for (const obj of this.incoming.listWatch.list()) objects.set(objectKey(obj), obj);
    for (const obj of this.settled.listWatch.list()) objects.set(objectKey(obj), obj);
    return [...objects.values()];
  }

  /** Objects whose index function returned `value` for index `name`. */
  byIndex(name: string, value: string): T[] {
    const keys = this.indexes.get(name)?.get(value);
    if (!keys) return [];
    const objects: T[] = [];
    for (const key of keys) {
      const slash = key.indexOf('/');
      const obj = slash < 0 ? this.get(key) : this.get(key.slice(slash + 1), key.slice(0, slash));
      if (obj) objects.push(obj);
    }
    return objects;
  }

  /** The values present in an index, e.g. every destination that has grants. */
  indexValues(name: string): string[] {
    return [...(this.indexes.get(name)?.keys() ?? [])];
  }

  private async connect(watch: SelectorWatch<T>): Promise<void> {
    try {
      await watch.listWatch.start();
    } catch (err) {
      this.scheduleRestart(watch, err);
    }
  }

  private scheduleRestart(watch: SelectorWatch<T>, err: unknown): void {
    if (this.stopped) return;
    const delay = watch.restartDelayMs;
    watch.restartDelayMs = Math.min(maxRestartDelayMs, watch.restartDelayMs * 2);
    this.logger.warn({ err: errorMessage(err), retryInMs: delay }, 'watch failed; serving cached objects and restarting');
    clearTimeout(watch.restartTimer);
    watch.restartTimer = setTimeout(() => void this.connect(watch), delay);
    watch.restartTimer.unref();
  }

  /** Synced once every watch's first list has filled the cache. */
  private markListed(watch: SelectorWatch<T>): void {
    watch.listed = true;
    if (this.synced || !this.watches.every((w) => w.listed)) return;
    this.synced = true;
    for (const resolve of this.syncWaiters.splice(0)) resolve();
  }

  /** A watch's DELETED: the object was deleted or left its selector (see incomingSelector). */
  private left(from: SelectorWatch<T>, obj: T): void {
    if (!this.incoming) return this.dispatch(obj, 'delete');
    const other = from === this.settled ? this.incoming : this.settled;
    const { name, namespace } = obj.metadata ?? {};
    // Moved: the other watch's event came first and handlers have seen the object there.
    if (other.listWatch.get(name!, namespace)) return;
    if (from === this.settled) return this.dispatch(obj, 'delete');
    const key = objectKey(obj);
    clearTimeout(this.leaving.get(key)?.timer);
    const timer = setTimeout(() => {
      this.leaving.delete(key);
      if (!this.get(name!, namespace)) this.dispatch(obj, 'delete');
    }, this.incomingGraceMs);
    timer.unref();
    this.leaving.set(key, { obj, timer });
    if (this.lookUpLeaving?.(obj) && this.leavingLookups < maxLeavingLookups) void this.settleLeaving(obj);
  }

  /** Looks up an object that left the incoming watch: deleted now, or on its way (see lookUpLeaving). */
  private async settleLeaving(obj: T): Promise<void> {
    this.leavingLookups++;
    const key = objectKey(obj);
    try {
      const arriving = (await this.lookUp(obj)).items.length > 0;
      // Any event for the key meanwhile (the other watch's ADDED among them) ended its leaving.
      if (!arriving && this.leaving.get(key)?.obj === obj) this.dispatch(obj, 'delete');
    } catch (err) {
      this.logger.debug({ err: errorMessage(err), key }, 'could not look up an object that left the incoming watch; waiting for the grace');
    } finally {
      this.leavingLookups--;
    }
  }

  private dispatch(obj: T, event: 'add' | 'update' | 'delete'): void {
    if (this.leaving.size > 0) {
      const key = objectKey(obj);
      clearTimeout(this.leaving.get(key)?.timer);
      this.leaving.delete(key);
    }
    // The first step of a change's way through a program; the bench times each step from these lines.
    if (this.logger.isLevelEnabled('debug')) this.logger.debug({ key: objectKey(obj), event, resourceVersion: obj.metadata?.resourceVersion }, 'watch event');
    this.updateIndexes(obj, event === 'delete');
    for (const handler of this.handlers) {
      try {
        handler(obj, event);
      } catch (err) {
        this.logger.error({ err: errorMessage(err), key: objectKey(obj), event }, 'informer event handler threw');
      }
    }
    // The cache holds this very object. Handlers have seen managedFields (who wrote
    // what); nothing reads it later, and it is often the largest part of an object:
    // dropping it keeps 10,000 cached Grants a fraction of the size.
    if (event !== 'delete' && obj.metadata) delete obj.metadata.managedFields;
  }

  private updateIndexes(obj: T, deleted: boolean): void {
    if (this.indexers.size === 0) return;
    const key = objectKey(obj);
    const previous = this.indexedValues.get(key);
    const current: IndexedValues[] = [];
    let position = 0;
    for (const [name, fn] of this.indexers) {
      const index = this.indexes.get(name)!;
      for (const value of indexedValueList(previous?.[position++])) {
        const keys = index.get(value);
        keys?.delete(key);
        if (keys?.size === 0) index.delete(value);
      }
      if (deleted) continue;
      // Interned: thousands of objects index under the same few values, each computed afresh.
      const values = fn(obj).map(intern);
      current.push(values.length === 1 ? values[0]! : values);
      for (const value of values) {
        let keys = index.get(value);
        if (!keys) index.set(value, (keys = new Set()));
        keys.add(key);
      }
    }
    if (deleted) this.indexedValues.delete(key);
    else this.indexedValues.set(key, current);
  }
}

/**
 * An object's values in one index. A single value, what nearly every index function
 * returns, is kept as itself: an array apiece was 30,000 arrays for 10,000 Grants in three
 * indexes (bench/README.md, session 36).
 */
type IndexedValues = string | readonly string[];

function indexedValueList(values: IndexedValues | undefined): readonly string[] {
  return values === undefined ? [] : typeof values === 'string' ? [values] : values;
}

/** Watch events that carry an object: ERROR carries a Status, BOOKMARK only a resourceVersion. */
const objectPhases = new Set(['ADDED', 'MODIFIED', 'DELETED']);

/** A watch whose objects are transformed as each event is parsed, before ListWatch caches them. */
class TransformingWatch<T extends KubernetesObject> extends Watch {
  readonly #transform: (obj: T) => T;

  constructor(kubeConfig: KubeConfig, transform: (obj: T) => T) {
    super(kubeConfig);
    this.#transform = transform;
  }

  override watch(...[path, queryParams, callback, done]: Parameters<Watch['watch']>): ReturnType<Watch['watch']> {
    return super.watch(path, queryParams, (phase, obj, watchObj) => callback(phase, objectPhases.has(phase) ? this.#transform(obj as T) : obj, watchObj), done);
  }
}

/**
 * The token for a list's next page: client-node renames `continue` to `_continue` in the
 * lists it deserializes, not in custom objects' lists, which it hands over as JSON.
 */
export function continueToken(list: KubernetesListObject<KubernetesObject>): string | undefined {
  const metadata: { _continue?: string; continue?: string } | undefined = list.metadata;
  return metadata?._continue || metadata?.continue || undefined;
}
