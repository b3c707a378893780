// One copy of each repeated string in what a long-lived cache keeps. JSON.parse makes a new
// string for every value it reads, so 10,000 cached Grants held 50,000 copies of the same
// few timestamps, condition types, roles, API versions and messages: half the strings of a
// connector's heap after a cold sync (bench/README.md).
//
// V8 keeps one canonical copy of every string used as a property name (its string table,
// which holds them weakly: a name no object uses any more is collected). Reading a string
// back as a key of a fresh object returns that copy, so interning needs no pool of its own
// to bound or prune.

// The key goes in and out of one null-prototype object, which V8 keeps as a hash table
// (dictionary mode) from the start. A fresh object literal per call, `{ [text]: 0 }`, made
// V8 a hidden class for every distinct text: 2.7 times the CPU, and old-generation
// collections that this way has none of (bench/README.md, session 26).
const probe: Record<string, 0> = Object.create(null) as Record<string, 0>;

/** The canonical copy of `text`: equal to it, shared by every caller that interns the same text. */
export function intern(text: string): string {
  probe[text] = 0;
  const [key] = Object.keys(probe);
  delete probe[text];
  return key!;
}

/** Interns, in place, every string value in a tree of plain objects and arrays (parsed JSON); returns the tree. */
export function internStrings<T>(tree: T): T {
  if (Array.isArray(tree)) {
    for (let i = 0; i < tree.length; i++) tree[i] = internValue(tree[i]);
  } else if (typeof tree === 'object' && tree !== null) {
    const record = tree as Record<string, unknown>;
    for (const key of Object.keys(record)) record[key] = internValue(record[key]);
  }
  return tree;
}

function internValue(value: unknown): unknown {
  return typeof value === 'string' ? intern(value) : internStrings(value);
}
