// The table-driven command line shared by npm start, npm run token and npm run demo: how it reads
// arguments and how it prints --help, on a table of its own.
import { describe, expect, it } from 'vitest';
import { type CommandLineSpec, helpRequested, helpText, readCommandLine } from '../../local/command-line.js';

const SPEC: CommandLineSpec = {
  usage: 'tool [--flag] [--name NAME]... [--size N]',
  summary: 'Does a thing.',
  options: {
    flag: { description: 'a switch', default: 'off' },
    name: { value: 'NAME', description: 'a name; repeat for more', default: 'none', repeatable: true },
    size: { value: 'N', description: 'a size', default: '1' },
  },
  environment: { TOOL_HOME: { description: 'where it lives', default: '~/.tool' } },
  notes: ['example: tool --name a'],
};

describe('readCommandLine', () => {
  it('reads flags, repeatable options in order and the last of the others, in both spellings', () => {
    const read = readCommandLine(SPEC, ['--name', 'a', '--size=2', '--flag', '--name=b=c', '--size', '3']);
    expect(read).toEqual({
      ok: true,
      options: new Map([
        ['name', ['a', 'b=c']],
        ['size', ['3']],
        ['flag', []],
      ]),
    });
  });

  it('takes a value that starts with a single dash as the value, so that it can be refused by name', () => {
    expect(readCommandLine(SPEC, ['--size', '-5'])).toEqual({ ok: true, options: new Map([['size', ['-5']]]) });
  });

  it('names every unknown argument once, with the known options', () => {
    expect(readCommandLine(SPEC, ['stray', '--nope', 'stray', '-x', '--flag'])).toEqual({
      ok: false,
      error: 'unknown argument(s): stray --nope -x (known: --flag --name --size --help)',
    });
  });

  it('refuses a value for a flag and an option without one', () => {
    expect(readCommandLine(SPEC, ['--flag=1'])).toEqual({ ok: false, error: '--flag takes no value, got "1"' });
    expect(readCommandLine(SPEC, ['--size'])).toEqual({ ok: false, error: '--size needs a value (--size N)' });
    expect(readCommandLine(SPEC, ['--size', '--flag'])).toEqual({
      ok: false,
      error: '--size needs a value (--size N)',
    });
  });
});

describe('helpRequested and helpText', () => {
  it('see --help and -h anywhere, and nothing else', () => {
    expect(helpRequested(['--size', '2', '--help'])).toBe(true);
    expect(helpRequested(['-h'])).toBe(true);
    expect(helpRequested(['--helpful', 'help', '-help'])).toBe(false);
  });

  it('print the usage, one aligned line per option and variable with its default, then the notes', () => {
    expect(helpText(SPEC)).toBe(
      [
        'usage: tool [--flag] [--name NAME]... [--size N]',
        '',
        'Does a thing.',
        '',
        'options:',
        '  --flag       a switch (default: off)',
        '  --name NAME  a name; repeat for more (default: none)',
        '  --size N     a size (default: 1)',
        '  --help, -h   print this help and exit',
        '',
        'environment:',
        '  TOOL_HOME  where it lives (default: ~/.tool)',
        '',
        'example: tool --name a',
        '',
      ].join('\n'),
    );
  });
});
