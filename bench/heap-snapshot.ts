// What a V8 heap snapshot (.heapsnapshot, from --heapsnapshot-signal) holds, summed by
// what the objects are: self size by constructor (or by node type for strings, arrays,
// code), and how much of the strings' memory is the same text held more than once (what
// interning would save). `node bench/heap-snapshot.ts <file>` prints the summary.
import { readFile } from 'node:fs/promises';

interface HeapSnapshotFile {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

export interface HeapGroup {
  /** "Object", "Array", "(string)", "(closure) reconcile", … */
  name: string;
  count: number;
  selfBytes: number;
}

export interface HeapSummary {
  totalBytes: number;
  groups: HeapGroup[];
  /** Bytes of string objects whose text another string object already holds. */
  duplicateStringBytes: number;
}

const stringTypes = new Set(['string', 'concatenated string', 'sliced string']);

export function summarize(file: HeapSnapshotFile): HeapSummary {
  const fields = file.snapshot.meta.node_fields;
  const types = file.snapshot.meta.node_types[0];
  const width = fields.length;
  const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f)) as [number, number, number];
  const groups = new Map<string, HeapGroup>();
  const seenText = new Set<number>();
  let totalBytes = 0;
  let duplicateStringBytes = 0;
  for (let i = 0; i < file.nodes.length; i += width) {
    const type = types[file.nodes[i + typeAt]!]!;
    const nameIndex = file.nodes[i + nameAt]!;
    const size = file.nodes[i + sizeAt]!;
    totalBytes += size;
    let name: string;
    if (stringTypes.has(type)) {
      name = '(string)';
      // A string node's name is its text, by index into the snapshot's string table.
      if (seenText.has(nameIndex)) duplicateStringBytes += size;
      else seenText.add(nameIndex);
    } else if (type === 'object' || type === 'native') name = file.strings[nameIndex]!;
    else if (type === 'closure') name = `(closure) ${file.strings[nameIndex] || '(anonymous)'}`;
    else name = `(${type})`;
    const group = groups.get(name) ?? { name, count: 0, selfBytes: 0 };
    group.count++;
    group.selfBytes += size;
    groups.set(name, group);
  }
  return { totalBytes, groups: [...groups.values()].sort((a, b) => b.selfBytes - a.selfBytes), duplicateStringBytes };
}

export function formatSummary(summary: HeapSummary, top = 15): string {
  const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
  const lines = [`live ${mib(summary.totalBytes)}; strings held twice or more: ${mib(summary.duplicateStringBytes)}`];
  for (const g of summary.groups.slice(0, top)) lines.push(`  ${mib(g.selfBytes).padStart(10)}  ${String(g.count).padStart(8)}  ${g.name}`);
  return lines.join('\n');
}

if (import.meta.main) {
  const path = process.argv[2];
  if (!path) {
    console.error('usage: node bench/heap-snapshot.ts <file.heapsnapshot>');
    process.exit(2);
  }
  console.log(formatSummary(summarize(JSON.parse(await readFile(path, 'utf8')) as HeapSnapshotFile)));
}
