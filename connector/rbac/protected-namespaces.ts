// The namespaces no Grant reaches unless its Destination says so: kube-system (the
// cluster's controllers and their credentials) and the connector's own (its CA and the
// proxy identity's token, and pods that can run as its ServiceAccounts, which may bind
// any role or impersonate anyone). A role in one of them is a way to the connector's
// powers, so a Grant there is refused until the Destination lists the namespace in
// spec.allowGrantsIn. Until the Destination has been read the answer is unknown, and the
// RBAC sync waits rather than bind or prune on a guess.
export class ProtectedNamespaces {
  private readonly protectedNames: ReadonlySet<string>;
  private allowed: ReadonlySet<string> | undefined;
  private readonly listeners: (() => void)[] = [];

  constructor(connectorNamespace: string) {
    this.protectedNames = new Set(['kube-system', connectorNamespace]);
  }

  get names(): ReadonlySet<string> {
    return this.protectedNames;
  }

  /** Whether the Destination's allowGrantsIn has been read at least once. */
  get known(): boolean {
    return this.allowed !== undefined;
  }

  /** Records the Destination's spec.allowGrantsIn; listeners hear of a change. */
  update(allowGrantsIn: readonly string[] | undefined): void {
    const next = new Set(allowGrantsIn ?? []);
    const changed = this.allowed === undefined || [...this.protectedNames].some((n) => next.has(n) !== this.allowed!.has(n));
    this.allowed = next;
    if (changed) for (const listener of this.listeners) listener();
  }

  /** The protected namespaces Grants may not reach now. */
  refused(): ReadonlySet<string> {
    return new Set([...this.protectedNames].filter((n) => !this.allowed?.has(n)));
  }

  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }
}
