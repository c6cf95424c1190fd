import { describe, expect, it } from 'vitest';
import { anchoredPathRegex, MAX_PATH_REGEX_LENGTH, pathRegexProblem } from '../../../core/domain/path-regex.js';

describe('pathRegexProblem', () => {
  it.each([
    '/',
    '^/',
    '/get',
    '^/get$',
    '/status.*',
    '/status/[0-9]+$',
    '/api/v[12]/items',
    '/files/[^/]+[.]json$',
    '/(get|head)',
    '/(ab)+',
    '/(a|b)/c',
    '/(a(b|c))',
    '/x{3}',
    '/x{1,}',
    '/x{0,64}',
    '/[a-zA-Z0-9_-]*',
    '/[-a]',
    '/[.+*?()|]',
    '/~user/%20/a!b,c;d=e:f@g&h',
    '/a?b?c?d?',
    `/${'a'.repeat(MAX_PATH_REGEX_LENGTH - 1)}`,
  ])('accepts %s (and JavaScript compiles it)', (regex) => {
    expect(pathRegexProblem(regex)).toBeUndefined();
    expect(() => new RegExp(anchoredPathRegex(regex))).not.toThrow();
  });

  it.each([
    // Where it starts and ends.
    ['get', 'must start with "/" or "^/" (at character 1)'],
    ['.*/get', 'must start with "/" or "^/" (at character 1)'],
    ['', 'must start with "/" or "^/" (at character 1)'],
    ['/*', 'must not repeat its leading "/" (at character 3)'],
    ['/a$b', 'may hold "$" only as its last character (at character 4)'],
    ['/(a$)', 'may hold "$" only as its last character (at character 4)'],
    ['/a^b', 'may hold "^" only as its first character (at character 3)'],
    // Alternation outside a group escapes the anchor.
    ['/a|/b', 'may use "|" only inside a group, e.g. ^/(a|b) (at character 3)'],
    ['/(a|)', 'must not hold an empty group or alternative (at character 5)'],
    ['/()', 'must not hold an empty group or alternative (at character 3)'],
    // Nested quantifiers and ambiguous repeated alternation.
    [
      '/(a+)+',
      'must not repeat a group that holds a quantifier or "|" (nested quantifiers can take exponential time) (at character 7)',
    ],
    [
      '/(a*)*',
      'must not repeat a group that holds a quantifier or "|" (nested quantifiers can take exponential time) (at character 7)',
    ],
    [
      '/(a|aa)*',
      'must not repeat a group that holds a quantifier or "|" (nested quantifiers can take exponential time) (at character 9)',
    ],
    [
      '/((a+))?',
      'must not repeat a group that holds a quantifier or "|" (nested quantifiers can take exponential time) (at character 9)',
    ],
    // Backreferences, escapes, lookaround, named groups, flags.
    ['/(a)\\1', 'must not hold "\\" (no escapes, classes or backreferences: write [.] for a dot) (at character 5)'],
    ['/\\d+', 'must not hold "\\" (no escapes, classes or backreferences: write [.] for a dot) (at character 2)'],
    ['/(?=a)', 'must not hold "(?" (no lookaround, named groups or flags) (at character 3)'],
    ['/(?<n>a)', 'must not hold "(?" (no lookaround, named groups or flags) (at character 3)'],
    ['/(?i)a', 'must not hold "(?" (no lookaround, named groups or flags) (at character 3)'],
    ['/(?:a)', 'must not hold "(?" (no lookaround, named groups or flags) (at character 3)'],
    // Lazy and possessive quantifiers, and repeats with nothing to repeat.
    ['/a*?', 'must not follow a quantifier with another (no lazy or possessive quantifiers) (at character 4)'],
    ['/a++', 'must not follow a quantifier with another (no lazy or possessive quantifiers) (at character 4)'],
    ['/(*a)', 'has * with nothing to repeat (at character 3)'],
    ['/{2}', 'must not repeat its leading "/" (at character 5)'],
    // Repeat counts read alike by both engines only in these forms.
    ['/a{,3}', 'may use "{" only in a repeat count: {n}, {n,} or {n,m} (at character 3)'],
    ['/a{x}', 'may use "{" only in a repeat count: {n}, {n,} or {n,m} (at character 3)'],
    ['/a{65}', 'may repeat at most 64 times in {…} (at character 7)'],
    ['/a{3,2}', 'has a repeat count {n,m} with n greater than m (at character 8)'],
    ['/a}', 'must not hold "}" (at character 3)'],
    // How many quantifiers.
    ['/a*b*c*', 'must hold at most 2 unbounded quantifiers (*, +, {n,})'],
    ['/a?b?c?d?e?', 'must hold at most 4 quantifiers (*, +, ?, {…})'],
    // Classes.
    // `[]` matches nothing in JavaScript; PCRE2 reads `[]a]` as a class holding "]".
    ['/[]', 'must not hold an empty character class (at character 3)'],
    ['/[^]', 'must not hold an empty character class (at character 4)'],
    ['/[[:alpha:]]', 'must not hold "[" in a character class (at character 3)'],
    ['/[a\\]]', 'must not hold "\\\\" in a character class (at character 4)'],
    ['/[z-a]', 'has a class range "z-a" that is not a-z, A-Z or 0-9 in order (at character 7)'],
    ['/[a-Z]', 'has a class range "a-Z" that is not a-z, A-Z or 0-9 in order (at character 7)'],
    ['/[.-9]', 'has a class range ".-9" that is not a-z, A-Z or 0-9 in order (at character 7)'],
    ['/[a-c-e]', 'has chained class ranges (at character 9)'],
    ['/[abc', 'has a "[" that is never closed (at character 6)'],
    ['/(abc', 'has a "(" that is never closed (at character 6)'],
    ['/abc)', 'has a ")" that closes no group (at character 5)'],
    // Nothing that could break a configuration line.
    ['/a b', 'must not hold " " (at character 3)'],
    ['/a\tb', 'must not hold "\\t" (at character 3)'],
    ['/a\nb', 'must not hold "\\n" (at character 3)'],
    ['/a#b', 'must not hold "#" (at character 3)'],
    ['/a"b', 'must not hold "\\"" (at character 3)'],
    ["/a'b", 'must not hold "\'" (at character 3)'],
    ['/a[ ]', 'must not hold " " in a character class (at character 4)'],
    ['/a[$]', 'must not hold "$" in a character class (at character 4)'],
    [`/${'a'.repeat(MAX_PATH_REGEX_LENGTH)}`, 'must be at most 256 characters'],
  ])('refuses %j: %s', (regex, problem) => {
    expect(pathRegexProblem(regex)).toBe(problem);
  });

  it('accepts only what JavaScript compiles, on 20,000 random strings over its alphabet', () => {
    const alphabet = [
      '/',
      'a',
      'Z',
      '0',
      '-',
      '.',
      '*',
      '+',
      '?',
      '(',
      ')',
      '|',
      '[',
      ']',
      '^',
      '$',
      '{',
      '}',
      ',',
      '3',
    ];
    let state = 7;
    const next = (below: number) => {
      state = (state * 1103515245 + 12345) % 2147483648;
      return Math.floor((state / 2147483648) * below);
    };
    let accepted = 0;
    for (let round = 0; round < 20_000; round += 1) {
      const text = `/${Array.from({ length: 1 + next(10) }, () => alphabet[next(alphabet.length)]).join('')}`;
      if (pathRegexProblem(text) !== undefined) continue;
      accepted += 1;
      expect(() => new RegExp(text), text).not.toThrow();
    }
    expect(accepted).toBeGreaterThan(500);
  });
});

describe('anchoredPathRegex', () => {
  it('matches the whole path whether or not the regex says so (as FSM: /status.* is needed for /status/200)', () => {
    expect(anchoredPathRegex('/get')).toBe('^(?:/get)$');
    expect(anchoredPathRegex('^/get$')).toBe('^(?:/get)$');
    const matches = (regex: string, path: string) => new RegExp(anchoredPathRegex(regex)).test(path);
    expect(matches('/get', '/get')).toBe(true);
    expect(matches('/get', '/x/get')).toBe(false);
    expect(matches('/get', '/getter')).toBe(false);
    expect(matches('/status', '/status/200')).toBe(false);
    expect(matches('/status.*', '/status/200')).toBe(true);
    // An alternation inside the group stays inside the anchors.
    expect(matches('/(a|b)', '/b')).toBe(true);
    expect(matches('/(a|b)', '/x/b')).toBe(false);
  });
});
