import { describe, expect, it } from 'vitest';
import * as z from 'zod/mini';
import { ValidationError } from '../../../core/domain/errors.js';
import {
  escapeNonPrinting,
  formatIssues,
  jsonText,
  listProblems,
  MAX_LISTED_PROBLEMS,
  MAX_PROBLEM_LENGTH,
  parseWith,
  quote,
} from '../../../core/domain/validation.js';

const issuesOf = (schema: z.core.$ZodType, value: unknown): z.core.$ZodIssue[] => {
  const result = z.safeParse(schema, value);
  if (result.success) throw new Error('expected issues');
  return result.error.issues;
};

describe('escapeNonPrinting', () => {
  it('writes controls, bidi, zero-width and separator characters as \\u escapes', () => {
    expect(escapeNonPrinting('a\u001b[31mred\u0007\u007f\u0085')).toBe('a\\u001b[31mred\\u0007\\u007f\\u0085');
    expect(escapeNonPrinting('abc\u202edcba\u2066x\u2069\u200b\ufeff\u2028\u2029')).toBe(
      'abc\\u202edcba\\u2066x\\u2069\\u200b\\ufeff\\u2028\\u2029',
    );
    expect(escapeNonPrinting('tag\u{e0041} lone\ud800')).toBe('tag\\u{e0041} lone\\ud800');
  });

  it('leaves printable text alone, including non-ASCII letters and emoji', () => {
    const text = 'égress 10.255.0.0/16 "quoted" \\ 雲 🚀 …';
    expect(escapeNonPrinting(text)).toBe(text);
  });

  it('jsonText() is JSON with the same characters escaped, read back by JSON.parse as they were', () => {
    const value = { path: '/a\u009b2J\u007f\u202e\u2028 tag\u{e0041} 雲 🚀', n: 1 };
    const text = jsonText(value);
    expect(text).toBe('{"path":"/a\\u009b2J\\u007f\\u202e\\u2028 tag\\udb40\\udc41 雲 🚀","n":1}');
    expect(JSON.parse(text)).toEqual(value);
  });

  it('quote() is JSON quoting plus the escapes', () => {
    expect(quote('h\u001b\u202e')).toBe('"h\\u001b\\u202e"');
    expect(quote('plain-handle')).toBe('"plain-handle"');
  });
});

describe('listProblems', () => {
  it(`lists at most ${MAX_LISTED_PROBLEMS} problems, then how many more`, () => {
    const problems = Array.from({ length: 20_000 }, (_, index) => `p${index}: bad`);
    expect(listProblems(problems)).toBe('p0: bad; p1: bad; p2: bad; p3: bad; p4: bad; …and 19,995 more');
    expect(listProblems(problems.slice(0, MAX_LISTED_PROBLEMS))).toBe('p0: bad; p1: bad; p2: bad; p3: bad; p4: bad');
    expect(listProblems(problems.slice(0, 6))).toBe('p0: bad; p1: bad; p2: bad; p3: bad; p4: bad; …and 1 more');
  });

  it('clips one long problem without splitting a surrogate pair', () => {
    const long = `${'a'.repeat(MAX_PROBLEM_LENGTH - 1)}🚀${'b'.repeat(100)}`;
    expect(listProblems([long])).toBe(`${'a'.repeat(MAX_PROBLEM_LENGTH - 1)}…`);
    expect(listProblems(['x'.repeat(MAX_PROBLEM_LENGTH)])).toBe('x'.repeat(MAX_PROBLEM_LENGTH));
  });
});

describe('formatIssues', () => {
  const portsSchema = z.object({ ports: z.array(z.number().check(z.maximum(65535, 'must be at most 65535'))) });

  it('escapes what it quotes from the input: keys in paths and unknown field names', () => {
    const record = z.record(z.string(), z.object({ ip: z.string({ error: 'must be a string' }) }));
    expect(formatIssues(issuesOf(record, { 'h\u001b]0;owned\u0007': { ip: 1 } }), '')).toBe(
      'h\\u001b]0;owned\\u0007.ip: must be a string',
    );
    const strict = z.strictObject({ a: z.number() });
    expect(formatIssues(issuesOf(strict, { a: 1, 'x\u202ey': 2 }))).toBe('request body: unknown field(s) "x\\u202ey"');
  });

  it('names the first problems and counts the rest', () => {
    const ports = Array.from({ length: 20_000 }, () => 70_000);
    const message = formatIssues(issuesOf(portsSchema, { ports }));
    expect(message).toBe(
      'ports[0]: must be at most 65535; ports[1]: must be at most 65535; ports[2]: must be at most 65535; ' +
        'ports[3]: must be at most 65535; ports[4]: must be at most 65535; …and 19,995 more',
    );
  });

  it('lists a few unknown fields, then how many more', () => {
    const strict = z.strictObject({});
    const body = Object.fromEntries(Array.from({ length: 12 }, (_, index) => [`f${index}`, 1]));
    expect(formatIssues(issuesOf(strict, body))).toBe(
      'request body: unknown field(s) "f0", "f1", "f2", "f3", "f4", …and 7 more',
    );
  });

  it('keeps short messages as they were', () => {
    expect(formatIssues(issuesOf(portsSchema, { ports: [1, 70_000] }))).toBe('ports[1]: must be at most 65535');
    expect(formatIssues(issuesOf(portsSchema, []))).toMatch(/^request body: /);
  });
});

describe('parseWith', () => {
  it('refuses an array with more bad items than zod can gather with a clear error, not a stack overflow', () => {
    const schema = z.object({ items: z.array(z.number().check(z.minimum(0))) });
    const items = Array.from({ length: 300_000 }, () => -1);
    expect(() => parseWith(schema, { items }, 'doc')).toThrow(ValidationError);
    expect(() => parseWith(schema, { items }, 'doc')).toThrow(/too many problems to list them/);
    expect(parseWith(schema, { items: [1, 2] })).toEqual({ items: [1, 2] });
  });
});
