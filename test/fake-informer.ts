// An in-memory stand-in for lib/controller/informer.ts's Informer, for unit tests: the
// same reads (get, list, byIndex, indexValues), indexes and change handlers, with no
// API server behind it. A test fills it with set()/remove() (as a watch would) and says
// when the first list is done with markSynced().
import type { KubernetesObject } from '@kubernetes/client-node';
import type { EventHandler, IndexFunction, Informer } from '../lib/controller/informer.ts';
import { objectKey } from '../lib/controller/informer.ts';

export class FakeInformer<T extends KubernetesObject> {
  private readonly objects = new Map<string, T>();
  private readonly indexers = new Map<string, IndexFunction<T>>();
  private readonly handlers: EventHandler<T>[] = [];
  private synced: boolean;
  private readonly syncWaiters: (() => void)[] = [];

  constructor(objects: readonly T[] = [], options: { synced?: boolean } = {}) {
    for (const obj of objects) this.objects.set(objectKey(obj), obj);
    this.synced = options.synced ?? true;
  }

  /** This fake where an Informer is expected. */
  get informer(): Informer<T> {
    return this as unknown as Informer<T>;
  }

  addIndex(name: string, fn: IndexFunction<T>): void {
    this.indexers.set(name, fn);
  }

  onChange(handler: EventHandler<T>): void {
    this.handlers.push(handler);
  }

  async start(): Promise<void> {}
  async stop(): Promise<void> {}

  get hasSynced(): boolean {
    return this.synced;
  }

  waitForSync(): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  /** The first list is done: waitForSync() resolves, hasSynced turns true. */
  markSynced(): void {
    this.synced = true;
    for (const resolve of this.syncWaiters.splice(0)) resolve();
  }

  get(name: string, namespace?: string): T | undefined {
    return this.objects.get(namespace ? `${namespace}/${name}` : name);
  }

  list(): readonly T[] {
    return [...this.objects.values()];
  }

  byIndex(name: string, value: string): T[] {
    const fn = this.indexers.get(name);
    if (!fn) return [];
    return this.list().filter((obj) => fn(obj).includes(value));
  }

  indexValues(name: string): string[] {
    const fn = this.indexers.get(name);
    return fn ? [...new Set(this.list().flatMap(fn))] : [];
  }

  /** Adds or replaces an object, as a watch event would, and tells the handlers. */
  set(obj: T): void {
    const key = objectKey(obj);
    const event = this.objects.has(key) ? 'update' : 'add';
    this.objects.set(key, obj);
    for (const handler of this.handlers) handler(obj, event);
  }

  remove(name: string, namespace?: string): void {
    const key = namespace ? `${namespace}/${name}` : name;
    const obj = this.objects.get(key);
    if (!obj) return;
    this.objects.delete(key);
    for (const handler of this.handlers) handler(obj, 'delete');
  }
}
