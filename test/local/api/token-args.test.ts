// `npm run token`'s arguments: scopes and lifetime, its help, and the usage errors (exit 2) word for word.
import { describe, expect, it } from 'vitest';
import { parseTokenArgs, tokenHelp } from '../../../local/api/token-args.js';

describe('npm run token arguments', () => {
  it('default to the issuer’s scope and one hour', () => {
    expect(parseTokenArgs([])).toEqual({ ok: true, options: { scopes: [], ttlSeconds: 3600 } });
  });

  it('collect every --scope and take the last --ttl, also written --ttl=N', () => {
    expect(parseTokenArgs(['--scope', 'x', '--ttl', '60', '--scope', 'openid', '--ttl=0'])).toEqual({
      ok: true,
      options: { scopes: ['x', 'openid'], ttlSeconds: 0 },
    });
  });

  it('refuse a flag without its value', () => {
    expect(parseTokenArgs(['--scope', 'x', '--ttl'])).toEqual({
      ok: false,
      error: '--ttl needs a value (--ttl SECONDS)',
    });
    expect(parseTokenArgs(['--scope'])).toEqual({ ok: false, error: '--scope needs a value (--scope SCOPE)' });
    expect(parseTokenArgs(['--scope', '--ttl', '5'])).toEqual({
      ok: false,
      error: '--scope needs a value (--scope SCOPE)',
    });
  });

  it.each(['abc', '-5', '1.5', '', '60s', ' 60'])('refuse the lifetime %j, naming it and the expected form', (ttl) => {
    expect(parseTokenArgs(['--ttl', ttl])).toEqual({
      ok: false,
      error: `--ttl: ${JSON.stringify(ttl)} is not a valid TTL (expected whole seconds, 0 or more, e.g. --ttl 60)`,
    });
  });

  it('refuse a scope that is not one word, which a reader splitting on spaces would take for two', () => {
    for (const scope of ['x network.admin', '', 'a"b', 'tab\there']) {
      expect(parseTokenArgs(['--scope', scope])).toEqual({
        ok: false,
        error: `--scope: ${JSON.stringify(scope)} is not a valid scope (expected one word of printable ASCII without spaces, quotes or backslashes, e.g. network.admin)`,
      });
    }
    expect(parseTokenArgs(['--scope', 'x,network.admin'])).toMatchObject({ ok: true });
  });

  it('refuse unknown arguments, each named once, with the known ones', () => {
    expect(parseTokenArgs(['--scopes', 'x', '--scopes'])).toEqual({
      ok: false,
      error: 'unknown argument(s): --scopes x (known: --scope --ttl --help)',
    });
  });

  it('describe every option with its default in the help', () => {
    const help = tokenHelp();
    expect(help).toMatch(/^usage: npm run --silent token -- \[--scope SCOPE\]\.\.\. \[--ttl SECONDS\]\n/);
    expect(help).toMatch(/^ {2}--scope SCOPE +.*\(default: network\.admin\)$/m);
    expect(help).toMatch(/^ {2}--ttl SECONDS +.*\(default: 3600\)$/m);
    expect(help).toMatch(/^ {2}--help, -h +print this help and exit$/m);
  });
});
