// `npm run token`'s arguments: scopes and lifetime, and the usage errors (exit 2) word for word.
import { describe, expect, it } from 'vitest';
import { parseTokenArgs } from '../../../local/api/token-args.js';

describe('npm run token arguments', () => {
  it('default to the issuer’s scope and one hour', () => {
    expect(parseTokenArgs([])).toEqual({ ok: true, options: { scopes: [], ttlSeconds: 3600 } });
  });

  it('collect every --scope and take the last --ttl', () => {
    expect(parseTokenArgs(['--scope', 'x', '--ttl', '60', '--scope', 'openid', '--ttl', '0'])).toEqual({
      ok: true,
      options: { scopes: ['x', 'openid'], ttlSeconds: 0 },
    });
  });

  it('refuse a flag without its value', () => {
    expect(parseTokenArgs(['--scope', 'x', '--ttl'])).toEqual({ ok: false, error: '--ttl needs a value' });
    expect(parseTokenArgs(['--scope'])).toEqual({ ok: false, error: '--scope needs a value' });
  });

  it('refuse a lifetime that is not whole seconds, and unknown arguments', () => {
    for (const ttl of ['abc', '-5', '1.5', '']) {
      expect(parseTokenArgs(['--ttl', ttl])).toEqual({
        ok: false,
        error: 'unknown or invalid argument "--ttl" (use --scope SCOPE, --ttl SECONDS)',
      });
    }
    expect(parseTokenArgs(['--scopes', 'x'])).toEqual({
      ok: false,
      error: 'unknown or invalid argument "--scopes" (use --scope SCOPE, --ttl SECONDS)',
    });
  });
});
