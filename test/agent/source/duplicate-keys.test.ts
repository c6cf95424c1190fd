// The duplicate-key scanner against JSON.parse's blind spot: the last of two equal keys wins silently.
import { describe, expect, it } from 'vitest';
import { type DuplicateKey, findDuplicateKey, mayRepeatKey } from '../../../agent/source/duplicate-keys.js';

describe('findDuplicateKey', () => {
  it.each([
    '{}',
    '[]',
    '"a"',
    '{"a": "a", "b": "a", "c": ["a", "a"], "d": {"a": 1}, "e": [{"a": 1}, {"a": 2}]}',
    '{"A": 1, "a": 2, "a ": 3, "\\u00e9": 4, "e\\u0301": 5}',
    ' { "__proto__" : { "__proto__" : null } , "constructor" : [ true , false , null , -1.5e3 ] } ',
  ])('finds none in %s', (text) => {
    expect(mayRepeatKey(text, JSON.parse(text))).toBe(false);
    expect(findDuplicateKey(text)).toBeUndefined();
  });

  // A colon after a quote inside a string looks like a key to the quick count: the exact scan then
  // says there is no repeat.
  it.each([
    '{"a,": 1, "a": "{\\"a\\": 1, \\"a\\": 2}", "a\\"": 2, "a\\\\": 3, "x": "\\\\", "a\\\\\\"": 4}',
    '{"ip": "::1", "note": ": yes"}',
    '["x\\" : y"]',
  ])('asks the exact scan about %s, which finds none', (text) => {
    expect(mayRepeatKey(text, JSON.parse(text))).toBe(true);
    expect(findDuplicateKey(text)).toBeUndefined();
  });

  it.each<[string, DuplicateKey]>([
    ['{"h": 1, "h": 2}', { path: [], key: 'h' }],
    ['{"h": 1, "\\u0068": 2}', { path: [], key: 'h' }],
    ['{"__proto__": {}, "__proto__": {}}', { path: [], key: '__proto__' }],
    [
      '{"h": {"metadata": {"app_id": "a", "space_id": "s", "app_id": "b"}}}',
      { path: ['h', 'metadata'], key: 'app_id' },
    ],
    ['{"a": [0, {"x": 1}, {"y": 1, "y": 2}]}', { path: ['a', 2], key: 'y' }],
    ['[[{"k": "v, \\"k\\": w", "k": 1}]]', { path: [0, 0], key: 'k' }],
    ['{"a": {"b": 1}, "c": {"d": 1, "d": 2}, "a": 3}', { path: ['c'], key: 'd' }],
  ])('finds the first in %s', (text, duplicate) => {
    expect(mayRepeatKey(text, JSON.parse(text))).toBe(true);
    expect(findDuplicateKey(text)).toEqual(duplicate);
  });

  it('agrees with a generator that knows where it repeated a key (2,000 random documents)', () => {
    let state = 7;
    const random = () => {
      state = (state * 1103515245 + 12345) % 2147483648;
      return state / 2147483648;
    };
    const KEYS = ['a', 'b', 'a"', 'a\\', '{', ',', ']', '__proto__', 'é', ''];
    // Either spelling of a key: JSON.stringify's, or its first character as a \u escape.
    const spell = (key: string): string =>
      key !== '' && random() < 0.3
        ? `"\\u${(key.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}${JSON.stringify(key).slice(2)}`
        : JSON.stringify(key);
    let first: DuplicateKey | undefined;
    const value = (depth: number, path: (string | number)[]): string => {
      const roll = random();
      if (depth > 3 || roll < 0.3) return JSON.stringify(KEYS[Math.floor(random() * KEYS.length)]);
      if (roll < 0.5) {
        const items = Array.from({ length: Math.floor(random() * 3) }, (_, index) =>
          value(depth + 1, [...path, index]),
        );
        return `[${items.join(' , ')}]`;
      }
      const seen = new Set<string>();
      const members: string[] = [];
      for (let count = Math.floor(random() * 4); count > 0; count -= 1) {
        const key = KEYS[Math.floor(random() * KEYS.length)] ?? 'a';
        if (seen.has(key) && first === undefined) first = { path, key };
        seen.add(key);
        members.push(`${spell(key)}:${value(depth + 1, [...path, key])}`);
      }
      return `{${members.join(',\n ')}}`;
    };
    let repeated = 0;
    for (let round = 0; round < 2000; round += 1) {
      first = undefined;
      const text = value(0, []);
      expect(mayRepeatKey(text, JSON.parse(text)), text).toBe(first !== undefined);
      expect(findDuplicateKey(text), text).toEqual(first);
      if (first !== undefined) repeated += 1;
    }
    expect(repeated).toBeGreaterThan(100);
  });
});
