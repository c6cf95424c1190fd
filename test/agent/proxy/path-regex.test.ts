// The path regex subset: what routes may say, what is refused (config breakers, constructs that
// backtrack exponentially, unsupported syntax), and that the proxy matches the whole path.
import { describe, expect, it } from 'vitest';
import { anchoredPathRegex, pathRegexProblem } from '../../../agent/proxy/path-regex.js';

describe('pathRegexProblem', () => {
  it('accepts the common route shapes', () => {
    const accepted = [
      '/get',
      '/status.*',
      '^/api/v[0-9]+/items/[^/]+$',
      '/(get|post)',
      '/files/\\d{1,8}\\.json',
      '/a(bc)*',
      '/a(bc){2,3}',
      '/[A-Za-z0-9_\\-]+',
      '/x?y+z*',
      '/w\\w+',
      '/~user/%7E;a=b,c@d:e!&',
    ];
    for (const regex of accepted) expect(pathRegexProblem(regex), regex).toBeUndefined();
  });

  it('refuses characters that could end a configuration word or line', () => {
    for (const regex of ['/a b', "/a'b", '/a"b', '/a#b', '/a\nb', '/a\rb', '/a\tb', '/a\\\\b', '/a`b', '/a\u0000b']) {
      expect(pathRegexProblem(regex), JSON.stringify(regex)).toMatch(/must not/);
    }
  });

  it('refuses constructs that backtrack exponentially or need a smarter engine', () => {
    const refused = {
      '/(a+)+': /must not repeat a group/,
      '/(a|ab)*': /must not repeat a group/,
      '/((ab))*': /must not repeat a group/,
      '/(a*)*b': /must not repeat a group/,
      '/(?=a)': /\(\?/,
      '/(?:a)': /\(\?/,
      '/(?<n>a)': /\(\?/,
      '/(a)\\1': /\\1/,
      '/a*?': /quantifier/,
      '/a++': /quantifier/,
      '/a**': /quantifier/,
      '*a': /quantifier/,
      '/.*.*.*.*.*': /unbounded/,
      '/a{1,256}': /at most 255/,
      '/a{3,2}': /n ≤ m/,
      '/a{,2}': /\{n\}/,
      '/a{1': /\{n\}/,
      '/a}': /must not contain/,
      '/a]': /must not contain/,
      '/(a': /close every group/,
      '/a)': /close a group/,
      '/[a': /close every class/,
      '/[]': /empty class/,
      '/[^]': /empty class/,
      '/[z-a]': /range/,
      '/[a-9]': /range/,
      '/[a-]': /hyphen/,
      '/a^b': /`\^` only first/,
      '/a$b': /`\$` only last/,
      '/\\s': /\\s/,
      '/\\x41': /\\x/,
      '/(((((a)))))': /deeper/,
    };
    for (const [regex, reason] of Object.entries(refused)) expect(pathRegexProblem(regex), regex).toMatch(reason);
  });

  it('refuses empty and over-long regexes', () => {
    expect(pathRegexProblem('')).toMatch(/empty/);
    expect(pathRegexProblem(`/${'a'.repeat(256)}`)).toMatch(/at most 256/);
    expect(pathRegexProblem(`/${'a'.repeat(255)}`)).toBeUndefined();
  });
});

describe('anchoredPathRegex', () => {
  it('matches the whole path, with or without its own anchors', () => {
    for (const regex of ['/status.*', '^/status.*$', '^/status.*', '/status.*$']) {
      const anchored = new RegExp(anchoredPathRegex(regex));
      expect(anchored.test('/status/200'), regex).toBe(true);
      expect(anchored.test('/x/status/200'), regex).toBe(false);
    }
    const alternation = new RegExp(anchoredPathRegex('/get|/post'));
    expect(alternation.test('/get')).toBe(true);
    expect(alternation.test('/getaway')).toBe(false);
    expect(alternation.test('/x/post')).toBe(false);
  });
});
