// Which names the agent resolves: exact, lower-case, fully qualified RFC 1123 names.
import { describe, expect, it } from 'vitest';
import { hostNameProblem, isHostName } from '../../../agent/names/host-name.js';
import { MAX_HOST_NAME_LENGTH } from '../../../core/domain/host-names.js';

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

  // The domain's rules (core/domain/host-names.ts, tested there); here, that they all apply.
  it.each([
    ['', 'must not be empty'],
    ['*.example.com', 'must be an exact name, not a wildcard'],
    ['a.*.example.com', 'must be an exact name, not a wildcard'],
    ['Db.Example.com', 'lower case'],
    ['localhost', 'at least two labels'],
    ['db.example.com.', 'empty label'],
    ['.example.com', 'empty label'],
    ['db..example.com', 'empty label'],
    [`${'a'.repeat(64)}.example.com`, 'at most 63 characters'],
    ['-db.example.com', 'must not start or end with "-"'],
    ['db-.example.com', 'must not start or end with "-"'],
    ['db_1.example.com', 'may hold only a-z, 0-9 and "-"'],
    ['db example.com', 'may hold only a-z, 0-9 and "-"'],
    ['bücher.example', 'may hold only a-z, 0-9 and "-"'],
    ['db.example.com\n', 'may hold only a-z, 0-9 and "-"'],
    ['1.2.3.4', 'must not be an IP address'],
    ['db.123', 'must not be an IP address'],
  ])('refuses %j: %s', (name, problem) => {
    expect(hostNameProblem(name)).toContain(problem);
  });
});
