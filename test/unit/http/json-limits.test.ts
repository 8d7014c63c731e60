import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_JSON_LIMITS, jsonShapeProblem } from '../../../api/http/json-limits.js';

/** Depth and entry count of a parsed value, by the definitions in json-limits.ts. */
function measure(value: unknown, level = 0): { depth: number; entries: number } {
  if (typeof value !== 'object' || value === null) return { depth: level, entries: 0 };
  const children = Array.isArray(value) ? value : Object.values(value);
  let depth = level + 1;
  let entries = children.length;
  for (const child of children) {
    const inner = measure(child, level + 1);
    depth = Math.max(depth, inner.depth);
    entries += inner.entries;
  }
  return { depth, entries };
}

describe('jsonShapeProblem', () => {
  it('counts nesting and entries exactly, at the bounds', () => {
    const limits = { maxDepth: 3, maxEntries: 5 };
    expect(jsonShapeProblem('{"a":[[1]]}', limits)).toBeUndefined();
    expect(jsonShapeProblem('{"a":[[[1]]]}', limits)).toBe('must nest at most 3 levels of objects and arrays');
    expect(jsonShapeProblem('[1, 2, {"a": [], "b": {}}]', limits)).toBeUndefined();
    expect(jsonShapeProblem('[1, 2, {"a": [0], "b": {}}]', limits)).toBe('must have at most 5 object members and array items in all');
    expect(jsonShapeProblem(' [ ] ', limits)).toBeUndefined();
  });

  it('ignores brackets, commas and escaped quotes inside strings', () => {
    const limits = { maxDepth: 1, maxEntries: 1 };
    expect(jsonShapeProblem(JSON.stringify({ a: '[[{,,,}]]\\"\\\\"[' }), limits)).toBeUndefined();
    expect(jsonShapeProblem(JSON.stringify({ '[[[': '\\' }), limits)).toBeUndefined();
    expect(jsonShapeProblem('{"a":"unterminated [[[[', limits)).toBeUndefined();
  });

  it('refuses 10,000 levels and 90,000 keys with the default limits', () => {
    expect(jsonShapeProblem('{"x":' + '['.repeat(10000) + ']'.repeat(10000) + '}')).toMatch(/^must nest at most 32 levels/);
    expect(jsonShapeProblem(JSON.stringify(Object.fromEntries(Array.from({ length: 90000 }, (_, i) => [`k${i}`, 1]))))).toMatch(/^must have at most 10000 /);
    expect(DEFAULT_JSON_LIMITS).toEqual({ maxDepth: 32, maxEntries: 10000 });
  });

  it('accepts any JSON value at exactly its own depth and entry count, and refuses it one below', () => {
    fc.assert(fc.property(fc.oneof(fc.array(fc.jsonValue()), fc.dictionary(fc.string(), fc.jsonValue())), (value) => {
      const text = JSON.stringify(value);
      const { depth, entries } = measure(value);
      expect(jsonShapeProblem(text, { maxDepth: depth, maxEntries: entries })).toBeUndefined();
      expect(jsonShapeProblem(text, { maxDepth: depth - 1, maxEntries: entries })).toMatch(/^must nest/);
      if (entries > 0) expect(jsonShapeProblem(text, { maxDepth: depth, maxEntries: entries - 1 })).toMatch(/^must have at most/);
    }), { numRuns: 500 });
  });
});
