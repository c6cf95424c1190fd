// The command table behind the agent's parser: a command word, forms selected by a flag, usage lines.
import { describe, expect, it } from 'vitest';
import { command, parseCommandLine, usageOf } from '../../agent/command-line.js';
import { UsageError } from '../../agent/errors.js';

const plain = command({
  name: 'run',
  usage: 'run --file F',
  options: { file: { type: 'string' } },
  build: (values) => ({ form: 'plain', file: values.file }),
});
const remote = command({
  name: 'run',
  form: 'remote',
  usage: 'run --remote --url U',
  options: { remote: { type: 'boolean' }, url: { type: 'string', default: 'http://x' } },
  build: (values) => ({ form: 'remote', url: values.url }),
});
const flagOnly = command({
  name: 'fetch',
  form: 'all',
  usage: 'fetch --all',
  options: { all: { type: 'boolean' } },
  build: () => ({ form: 'all' }),
});
const TABLE = [plain, remote, flagOnly];

describe('parseCommandLine', () => {
  it('picks the form whose flag is given, else the plain one', () => {
    expect(parseCommandLine(TABLE, ['run', '--file', 'f'])).toEqual({ form: 'plain', file: 'f' });
    expect(parseCommandLine(TABLE, ['run', '--url', 'u', '--remote'])).toEqual({ form: 'remote', url: 'u' });
    expect(parseCommandLine(TABLE, ['run', '--remote'])).toEqual({ form: 'remote', url: 'http://x' });
  });

  it('parses strictly: options of another form are unknown', () => {
    expect(() => parseCommandLine(TABLE, ['run', '--url', 'u'])).toThrow(new UsageError("Unknown option '--url'"));
  });

  it('says which flag a command without a plain form needs', () => {
    expect(() => parseCommandLine(TABLE, ['fetch'])).toThrow(new UsageError('fetch: one of --all is required'));
    expect(parseCommandLine(TABLE, ['fetch', '--all'])).toEqual({ form: 'all' });
  });

  it('lists every entry in the usage text', () => {
    expect(usageOf('tool', TABLE)).toBe(
      'usage: tool run --file F\n       tool run --remote --url U\n       tool fetch --all',
    );
  });
});
