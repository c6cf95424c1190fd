// Which names the agent resolves: exact, lower-case, fully qualified RFC 1123 names.
import { describe, expect, it } from 'vitest';
import { hostNameProblem, isHostName, MAX_HOST_NAME_LENGTH } from '../../../agent/names/host-name.js';

describe('hostNameProblem', () => {
  it.each([
    'db.example.com',
    'a.b',
    'x-1.example.org',
    '3com.example',
    `${'a'.repeat(63)}.example.com`,
    ['a'.repeat(61), 'b'.repeat(61), 'c'.repeat(61), 'd'.repeat(57), 'com'].join('.'),
  ])('accepts %s', (name) => {
    expect(hostNameProblem(name)).toBeUndefined();
    expect(isHostName(name)).toBe(true);
  });

  it('accepts exactly 253 characters and refuses 254', () => {
    const at = (length: number) => `${'a.'.repeat((length - 3) / 2)}com`;
    expect(at(253)).toHaveLength(MAX_HOST_NAME_LENGTH);
    expect(hostNameProblem(at(253))).toBeUndefined();
    expect(hostNameProblem(`a${at(253)}`)).toBe('must be at most 253 characters');
  });

  it.each([
    ['', 'must not be empty'],
    ['*.example.com', 'must be an exact name, not a wildcard'],
    ['Db.Example.com', 'must be lower-case'],
    ['localhost', 'must be a fully qualified name (at least two labels)'],
    ['db.example.com.', 'must not have an empty label (a leading, trailing or doubled dot)'],
    ['.example.com', 'must not have an empty label (a leading, trailing or doubled dot)'],
    ['db..example.com', 'must not have an empty label (a leading, trailing or doubled dot)'],
    [`${'a'.repeat(64)}.example.com`, 'labels must be at most 63 characters'],
    ['-db.example.com', 'labels are letters a-z, digits and inner hyphens'],
    ['db-.example.com', 'labels are letters a-z, digits and inner hyphens'],
    ['db_1.example.com', 'labels are letters a-z, digits and inner hyphens'],
    ['db example.com', 'labels are letters a-z, digits and inner hyphens'],
    ['bücher.example', 'labels are letters a-z, digits and inner hyphens'],
    ['db.example.com\n', 'labels are letters a-z, digits and inner hyphens'],
    ['1.2.3.4', 'the last label must not be all digits'],
    ['db.123', 'the last label must not be all digits'],
  ])('refuses %j: %s', (name, problem) => {
    expect(hostNameProblem(name)).toBe(problem);
  });
});
