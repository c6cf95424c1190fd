// The names the proxy takes (the domain's, core/domain/host-names.ts, lower-cased as l7-rule.ts does
// before checking): nothing that could break a configuration line passes; and a wildcard's regex
// matches exactly one more label.
import { describe, expect, it } from 'vitest';
import { hostMatches, hostNameProblem, lowerAscii, wildcardRegex } from '../../../core/domain/host-names.js';

const hostPatternProblem = (name: string) => hostNameProblem(lowerAscii(name));

describe('host names in proxy rules', () => {
  it('accepts RFC 1123 names, in any case, and one-label wildcards', () => {
    for (const name of ['example.com', 'a.b-c.example.com', '1password.com', 'API.Example.COM', '*.example.com']) {
      expect(hostPatternProblem(name), name).toBeUndefined();
    }
    expect(hostNameProblem(`${'a'.repeat(63)}.com`)).toBeUndefined();
  });

  it('refuses what is not a name: empty, over-long, bad labels, addresses, and anything that could break a config', () => {
    const refused = [
      '',
      `${'a'.repeat(64)}.com`,
      `${'a.'.repeat(126)}com`,
      '-a.com',
      'a-.com',
      'a..com',
      '.a.com',
      'a.com.',
      'a_b.com',
      '10.0.0.1',
      'example.123',
      'a.com\nbind :80',
      'a.com #',
      "a.com'",
      'a.com"',
      'a com',
      'a.com\\',
      'é.com',
      'a.com:80',
    ];
    for (const name of refused) expect(hostPatternProblem(name), JSON.stringify(name)).toBeDefined();
  });

  it('refuses wildcards other than a whole first label, and over a single label', () => {
    for (const pattern of [
      '*',
      '*.com',
      'a.*.com',
      '*a.example.com',
      '**.example.com',
      '*.*.example.com',
      'a*.example.com',
      '*.',
      'x',
    ]) {
      expect(hostPatternProblem(pattern), pattern).toBeDefined();
    }
  });
});

describe('wildcardRegex', () => {
  it('matches exactly one more label, never the bare suffix or two labels', () => {
    const regex = new RegExp(wildcardRegex('*.Example.com'));
    expect(regex.test('a.example.com')).toBe(true);
    expect(regex.test('a-1.example.com')).toBe(true);
    expect(regex.test(`${'a'.repeat(63)}.example.com`)).toBe(true);
    for (const name of [
      'example.com',
      'a.b.example.com',
      '.example.com',
      'aexample.com',
      'a.example.com.evil',
      'a.exampleXcom',
      '-a.example.com',
      `${'a'.repeat(64)}.example.com`,
    ]) {
      expect(regex.test(name), name).toBe(false);
    }
  });

  it('keeps the whole name within 253 characters', () => {
    const suffix = `${'b'.repeat(60)}.${'c'.repeat(60)}.${'d'.repeat(60)}.${'e'.repeat(60)}`; // 243
    const regex = new RegExp(wildcardRegex(`*.${suffix}`));
    expect(regex.test(`${'a'.repeat(9)}.${suffix}`)).toBe(true);
    expect(regex.test(`${'a'.repeat(10)}.${suffix}`)).toBe(false);
  });
});

describe('hostMatches', () => {
  it('matches the exact name in any case, and a wildcard by exactly one label', () => {
    expect(hostMatches('api.example.com', 'API.example.com')).toBe(true);
    expect(hostMatches('api.example.com', 'api.example.co')).toBe(false);
    expect(hostMatches('*.example.com', 'A.Example.com')).toBe(true);
    expect(hostMatches('*.example.com', 'a.b.example.com')).toBe(false);
    expect(hostMatches('*.example.com', 'example.com')).toBe(false);
    expect(hostMatches('*.example.com', 'aexample.com')).toBe(false);
  });
});
