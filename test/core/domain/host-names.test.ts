import { describe, expect, it } from 'vitest';
import { hostNameProblem, isHostName, isWildcardHost, lowerAscii } from '../../../core/domain/host-names.js';

describe('hostNameProblem', () => {
  it.each([
    'example.com',
    'api.example.com',
    'a.b',
    'x1.y2',
    '0.example.com',
    'xn--bcher-kva.example',
    'a-b.c-d.example',
    `${'a'.repeat(63)}.com`,
    // 253 characters: four labels of 61 and one of 5, with the dots.
    `${['a', 'b', 'c', 'd'].map((c) => c.repeat(61)).join('.')}.abcde`,
    '*.example.com',
    '*.a.b',
  ])('accepts %s', (name) => {
    expect(hostNameProblem(name)).toBeUndefined();
    expect(isHostName(name)).toBe(true);
  });

  it.each([
    ['com', 'must have at least two labels (e.g. example.com)'],
    ['*.com', 'must have at least two labels (e.g. example.com)'],
    ['example.com.', 'must not start or end with "." or hold ".." (no empty label, no root dot)'],
    ['.example.com', 'must not start or end with "." or hold ".." (no empty label, no root dot)'],
    ['a..example.com', 'must not start or end with "." or hold ".." (no empty label, no root dot)'],
    ['', 'must not start or end with "." or hold ".." (no empty label, no root dot)'],
    ['-a.example.com', 'label "-a" must not start or end with "-"'],
    ['a-.example.com', 'label "a-" must not start or end with "-"'],
    ['a_b.example.com', 'label "a_b" may hold only a-z, 0-9 and "-"'],
    ['a b.example.com', 'label "a b" may hold only a-z, 0-9 and "-"'],
    ['a#b.example.com', 'label "a#b" may hold only a-z, 0-9 and "-"'],
    ['bücher.example', 'label "bücher" may hold only a-z, 0-9 and "-"'],
    ['Example.com', 'must be in lower case'],
    [`${'a'.repeat(64)}.com`, `label "${'a'.repeat(20)}"… must be at most 63 characters`],
    [`${['a', 'b', 'c', 'd'].map((c) => c.repeat(61)).join('.')}.abcdef`, 'must be at most 253 characters'],
    // IPv4 literals in every form a resolver would read as an address.
    ['10.0.0.1', 'must not be an IP address: its last label must start with a letter'],
    ['10.1', 'must not be an IP address: its last label must start with a letter'],
    ['0x0a.0x1', 'must not be an IP address: its last label must start with a letter'],
    ['example.123', 'must not be an IP address: its last label must start with a letter'],
    ['[::1]', 'label "[::1]" may hold only a-z, 0-9 and "-"'],
    // A wildcard is the whole first label, once.
    ['*', 'may hold "*" only as its whole first label (*.example.com)'],
    ['a.*.example.com', 'may hold "*" only as its whole first label (*.example.com)'],
    ['*a.example.com', 'may hold "*" only as its whole first label (*.example.com)'],
    ['*.*.example.com', 'may hold "*" only as its whole first label (*.example.com)'],
    ['**.example.com', 'may hold "*" only as its whole first label (*.example.com)'],
  ])('refuses %s: %s', (name, problem) => {
    expect(hostNameProblem(name)).toBe(problem);
    expect(isHostName(name)).toBe(false);
  });

  it('takes only strings', () => {
    expect(isHostName(undefined)).toBe(false);
    expect(isHostName(['example.com'])).toBe(false);
  });

  it('tells wildcards from exact names', () => {
    expect(isWildcardHost('*.example.com')).toBe(true);
    expect(isWildcardHost('www.example.com')).toBe(false);
  });
});

describe('lowerAscii', () => {
  it('lowers ASCII letters only, so a non-ASCII letter never folds into an ASCII name', () => {
    expect(lowerAscii('API.Example.COM')).toBe('api.example.com');
    // The Kelvin sign lowers to "k" with toLowerCase: it must stay what it is, and be refused.
    expect('\u212Aelvin.com'.toLowerCase()).toBe('kelvin.com');
    expect(lowerAscii('\u212Aelvin.com')).toBe('\u212Aelvin.com');
    expect(hostNameProblem(lowerAscii('\u212Aelvin.com'))).toMatch(/may hold only a-z/);
  });
});
