// The spoke's RoleBindings as a watch delivers them, to time the moment bindings reach a
// state: a subject added or gone, every binding of a fixture in place. A watch, not a
// poll: the time is taken when the event arrives, not at the next poll.
import { RbacAuthorizationV1Api, type KubeConfig, type RbacV1Subject, type V1RoleBinding } from '@kubernetes/client-node';
import { pino } from 'pino';
import { Informer } from '../lib/controller/informer.ts';

/** `<namespace>/<name>` */
export type BindingId = string;
/** `<kind>:<name>`, e.g. `User:alice@example.com` */
export type SubjectId = string;

export const bindingId = (namespace: string, name: string): BindingId => `${namespace}/${name}`;
export const subjectId = (kind: string, name: string): SubjectId => `${kind}:${name}`;

/** A test on a binding's subjects; `undefined` when the binding does not exist. */
export type BindingCheck = (subjects: ReadonlySet<SubjectId> | undefined) => boolean;

export const hasSubject =
  (subject: SubjectId): BindingCheck =>
  (subjects) =>
    subjects?.has(subject) ?? false;
export const lacksSubject =
  (subject: SubjectId): BindingCheck =>
  (subjects) =>
    !subjects?.has(subject);
export const isAbsent: BindingCheck = (subjects) => subjects === undefined;
export function hasExactly(expected: readonly RbacV1Subject[]): BindingCheck {
  const ids = new Set(expected.map((s) => subjectId(s.kind, s.name)));
  return (subjects) => subjects !== undefined && subjects.size === ids.size && [...ids].every((s) => subjects.has(s));
}

interface Waiter {
  checks: ReadonlyMap<BindingId, BindingCheck>;
  /** The bindings whose check does not hold yet. */
  failing: Set<BindingId>;
  /** Resolved once any check holds rather than all. */
  any: boolean;
  resolve(at: number): void;
}

/** Whether a waiter is done: every check holds, or with `any` at least one. */
const done = ({ checks, failing, any }: Omit<Waiter, 'resolve'>): boolean => failing.size === 0 || (any && failing.size < checks.size);

export class SpokeRoleBindings {
  readonly #informer: Informer<V1RoleBinding>;
  readonly #subjects = new Map<BindingId, Set<SubjectId>>();
  readonly #waiters = new Set<Waiter>();

  private constructor(kubeConfig: KubeConfig) {
    const rbac = kubeConfig.makeApiClient(RbacAuthorizationV1Api);
    this.#informer = new Informer<V1RoleBinding>({
      kubeConfig,
      logger: pino({ level: 'warn' }, pino.destination(2)),
      path: '/apis/rbac.authorization.k8s.io/v1/rolebindings',
      list: (page) => rbac.listRoleBindingForAllNamespaces(page),
    });
    this.#informer.onChange((binding, event) => this.#changed(binding, event));
  }

  /** Lists every RoleBinding of the spoke, then watches them until stop(). */
  static async start(kubeConfig: KubeConfig): Promise<SpokeRoleBindings> {
    const bindings = new SpokeRoleBindings(kubeConfig);
    await bindings.#informer.start();
    await bindings.#informer.waitForSync();
    return bindings;
  }

  stop(): Promise<void> {
    return this.#informer.stop();
  }

  /**
   * Resolves with the time (performance.now()) of the event after which every check
   * holds, or now if they already do; rejects after timeoutMs saying how many still fail.
   */
  until(checks: ReadonlyMap<BindingId, BindingCheck>, timeoutMs: number): Promise<number> {
    return this.#wait(checks, false, timeoutMs);
  }

  /** The same for the first of the checks to hold: when a sync's first binding is in place. */
  first(checks: ReadonlyMap<BindingId, BindingCheck>, timeoutMs: number): Promise<number> {
    return this.#wait(checks, true, timeoutMs);
  }

  #wait(checks: ReadonlyMap<BindingId, BindingCheck>, any: boolean, timeoutMs: number): Promise<number> {
    const failing = new Set([...checks].filter(([id, check]) => !check(this.#subjects.get(id))).map(([id]) => id));
    if (done({ checks, failing, any })) return Promise.resolve(performance.now());
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        checks,
        failing,
        any,
        resolve: (at) => {
          clearTimeout(timer);
          resolve(at);
        },
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        const example = [...failing][0]!;
        reject(
          new Error(
            `after ${timeoutMs / 1000} s, ${failing.size} of ${checks.size} RoleBindings are not as expected yet, e.g. ${example}: ${[...(this.#subjects.get(example) ?? ['(absent)'])].join(', ')}`,
          ),
        );
      }, timeoutMs);
      this.#waiters.add(waiter);
    });
  }

  /**
   * Milliseconds from starting `action` (e.g. a kubectl apply in the hub) until the watch
   * delivers the event after which `check` holds for `binding`.
   */
  async timed(action: () => Promise<unknown>, binding: BindingId, check: BindingCheck, timeoutMs: number): Promise<number> {
    const start = performance.now();
    const seen = this.until(new Map([[binding, check]]), timeoutMs);
    seen.catch(() => undefined); // awaited below; the action may fail first
    await action();
    return (await seen) - start;
  }

  #changed(binding: V1RoleBinding, event: 'add' | 'update' | 'delete'): void {
    const at = performance.now();
    const id = bindingId(binding.metadata!.namespace!, binding.metadata!.name!);
    if (event === 'delete') this.#subjects.delete(id);
    else this.#subjects.set(id, new Set((binding.subjects ?? []).map((s) => subjectId(s.kind, s.name))));
    for (const waiter of this.#waiters) {
      const check = waiter.checks.get(id);
      if (!check) continue;
      if (check(this.#subjects.get(id))) waiter.failing.delete(id);
      else waiter.failing.add(id);
      if (done(waiter)) {
        this.#waiters.delete(waiter);
        waiter.resolve(at);
      }
    }
  }
}
