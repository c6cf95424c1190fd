import { describe, expect, it } from 'vitest';
import {
  headerNameProblem,
  headerValueProblem,
  MAX_HEADER_NAME_LENGTH,
  MAX_HEADER_VALUE_LENGTH,
  REFUSED_HEADER_NAMES,
} from '../../../core/domain/http-routes.js';

describe('headerNameProblem', () => {
  it.each(['x-api-key', 'accept', 'x_custom', '0x', 'a'.repeat(MAX_HEADER_NAME_LENGTH)])('accepts %s', (name) => {
    expect(headerNameProblem(name)).toBeUndefined();
  });

  it.each([
    ['X-Api-Key', 'must be in lower case'],
    ['', 'must be 1 or more of a-z, 0-9, "-" and "_", starting with a letter or digit'],
    ['-x', 'must be 1 or more of a-z, 0-9, "-" and "_", starting with a letter or digit'],
    ['__proto__', 'must be 1 or more of a-z, 0-9, "-" and "_", starting with a letter or digit'],
    [':authority', 'must be 1 or more of a-z, 0-9, "-" and "_", starting with a letter or digit'],
    ['x api', 'must be 1 or more of a-z, 0-9, "-" and "_", starting with a letter or digit'],
    ['x.y', 'must be 1 or more of a-z, 0-9, "-" and "_", starting with a letter or digit'],
    ['x#y', 'must be 1 or more of a-z, 0-9, "-" and "_", starting with a letter or digit'],
    ['a'.repeat(MAX_HEADER_NAME_LENGTH + 1), 'must be at most 64 characters'],
  ])('refuses %j: %s', (name, problem) => {
    expect(headerNameProblem(name)).toBe(problem);
  });

  it.each(REFUSED_HEADER_NAMES)('refuses %s (hop-by-hop, framing or Host)', (name) => {
    expect(headerNameProblem(name)).toBe('is not a header a route may match (hop-by-hop, framing or Host)');
  });
});

describe('headerValueProblem', () => {
  it.each(['v', 'Bearer abc.def', 'a b c', '!%&()*+,-./:;<=>?@[]^_{|}~', 'x'.repeat(MAX_HEADER_VALUE_LENGTH)])(
    'accepts %j',
    (value) => {
      expect(headerValueProblem(value)).toBeUndefined();
    },
  );

  const spacing =
    'must be printable ASCII, with single spaces only between other characters (no tabs, line breaks or leading, trailing or double spaces)';
  it.each([
    ['', 'must not be empty'],
    ['x'.repeat(MAX_HEADER_VALUE_LENGTH + 1), 'must be at most 256 characters'],
    ['a"b', 'must not hold "\\""'],
    ["a'b", 'must not hold "\'"'],
    ['a\\b', 'must not hold "\\\\"'],
    ['a#b', 'must not hold "#"'],
    ['a$b', 'must not hold "$"'],
    ['a`b', 'must not hold "`"'],
    [' a', spacing],
    ['a ', spacing],
    ['a  b', spacing],
    ['a\tb', spacing],
    ['a\r\nx-injected: 1', spacing],
    ['a\nb', spacing],
    ['caf\u00e9', spacing],
    ['a\u0000', spacing],
    ['a\u007f', spacing],
  ])('refuses %j: %s', (value, problem) => {
    expect(headerValueProblem(value)).toBe(problem);
  });
});
