import { describe, expect, it } from 'vitest';
import { intern, internStrings } from './intern.ts';

describe('intern', () => {
  it('returns the same text for any string, including ones that read as array indexes or special names', () => {
    for (const text of ['view', '', '12345', '4294967295', '-1', '__proto__', 'constructor', 'toString', 'ünïcode ☃', 'a'.repeat(10_000)])
      expect(intern(text)).toBe(text);
  });
});

describe('internStrings', () => {
  it('keeps every value of a parsed tree as it was, in place', () => {
    const json = '{"a":["x",{"b":"y","n":1,"z":null,"t":true}],"c":"__proto__","__proto__":{"p":"q"},"e":[]}';
    const tree = JSON.parse(json) as Record<string, unknown>;
    const nested = (tree.a as unknown[])[1];
    expect(internStrings(tree)).toBe(tree);
    expect(JSON.stringify(tree)).toBe(json);
    expect((tree.a as unknown[])[1]).toBe(nested);
    expect(Object.getPrototypeOf(tree)).toBe(Object.prototype);
  });

  it('leaves a string, a number or null as it is', () => {
    expect(internStrings('view')).toBe('view');
    expect(internStrings(3)).toBe(3);
    expect(internStrings(null)).toBe(null);
  });
});
