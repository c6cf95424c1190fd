// egressctl's commands as one table: each entry names its words (`destinations list`), positional
// arguments, options and what it runs. The command line is parsed with one strict parseArgs call per
// command, and every `--help` is printed from the same entries, so the help cannot drift from what
// is parsed (as agent/command-line.ts does for the agent, which takes no positional arguments).
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { UsageError } from './errors.js';
import { EXIT_CODE_LINES } from './exit-codes.js';

export interface OptionSpec {
  /** A flag takes no value; a string option takes one (`--name VALUE`). */
  readonly type: 'string' | 'boolean';
  /** The value's placeholder in the help. @default VALUE */
  readonly value?: string;
  readonly description: string;
  /** May be given more than once; every value counts. */
  readonly multiple?: boolean;
  /** The default as a person reads it, for the help. */
  readonly defaultText?: string;
}

/** What a command's run gets: its positional arguments and option values, read by name. */
export interface Invocation {
  readonly positionals: readonly string[];
  string(name: string): string | undefined;
  strings(name: string): readonly string[];
  flag(name: string): boolean;
}

export interface CommandSpec<Context> {
  /** The words that name it, e.g. `['destinations', 'list']`. */
  readonly words: readonly string[];
  /** Positional placeholders: `ID` is required, `[ID]` optional. */
  readonly positionals?: readonly string[];
  /** One line: what it does (the top-level help lists it). */
  readonly summary: string;
  readonly options: Readonly<Record<string, OptionSpec>>;
  /** Lines after the options in its own help (examples, details). */
  readonly notes?: readonly string[];
  /** Resolves with the exit code; throws a CtlError to fail. */
  readonly run: (invocation: Invocation, context: Context) => Promise<number>;
}

export const HELP_FLAGS: readonly string[] = ['--help', '-h'];

/** The options every command takes, besides its own. */
export const GLOBAL_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  api: {
    type: 'string',
    value: 'URL',
    description: 'the API base URL, e.g. http://127.0.0.1:8080',
    defaultText: "EGRESS_API, else the running local mode's",
  },
  token: {
    type: 'string',
    value: 'TOKEN',
    description: 'the bearer token',
    defaultText: "EGRESS_TOKEN, else one minted with local mode's key for a local API",
  },
  json: { type: 'boolean', description: 'print the API answer as JSON (for scripts) instead of a table' },
};

const isRequired = (placeholder: string): boolean => !placeholder.startsWith('[');

function optionFlag(name: string, option: OptionSpec): string {
  return option.type === 'string' ? `--${name} ${option.value ?? 'VALUE'}` : `--${name}`;
}

/** The entry `argv` names (longest match of its words), with the arguments after them. */
export function findCommand<C>(
  commands: readonly CommandSpec<C>[],
  argv: readonly string[],
): { command: CommandSpec<C>; rest: readonly string[] } | undefined {
  const matches = commands.filter((command) => command.words.every((word, index) => argv[index] === word));
  const best = matches.sort((a, b) => b.words.length - a.words.length)[0];
  return best === undefined ? undefined : { command: best, rest: argv.slice(best.words.length) };
}

/** Parses a command's arguments strictly; every mistake is a UsageError naming it. */
export function parseInvocation<C>(command: CommandSpec<C>, args: readonly string[]): Invocation {
  const options: NonNullable<ParseArgsConfig['options']> = {};
  for (const [name, option] of Object.entries({ ...GLOBAL_OPTIONS, ...command.options })) {
    options[name] = { type: option.type, ...(option.multiple ? { multiple: true } : {}) };
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...args], options, strict: true, allowPositionals: true });
  } catch (error) {
    // parseArgs adds advice on '--' for positionals that start with a dash; the first sentence is the point.
    const message =
      error instanceof Error ? error.message.replace(/\. To specify a positional argument[\s\S]*/, '') : String(error);
    throw new UsageError(message, helpHint(command));
  }
  const placeholders = command.positionals ?? [];
  const required = placeholders.filter(isRequired).length;
  if (parsed.positionals.length < required || parsed.positionals.length > placeholders.length) {
    const expected = placeholders.length === 0 ? 'no arguments' : placeholders.join(' ');
    const given =
      parsed.positionals.length === 0 ? 'none' : parsed.positionals.map((arg) => JSON.stringify(arg)).join(' ');
    throw new UsageError(`${command.words.join(' ')}: expected ${expected}, got ${given}`, helpHint(command));
  }
  const values = parsed.values;
  return {
    positionals: parsed.positionals,
    string: (name) => {
      const value = values[name];
      return typeof value === 'string' ? value : undefined;
    },
    strings: (name) => {
      const value = values[name];
      if (Array.isArray(value)) return value.filter((item): item is string => typeof item === 'string');
      return typeof value === 'string' ? [value] : [];
    },
    flag: (name) => values[name] === true,
  };
}

export const helpHint = (command: { readonly words: readonly string[] }): string =>
  `run \`egressctl ${command.words.join(' ')} --help\` for its usage`;

function columns(rows: readonly (readonly [string, string])[]): string[] {
  const width = Math.max(...rows.map(([left]) => left.length));
  return rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`.trimEnd());
}

function usageLine<C>(command: CommandSpec<C>): string {
  const required = Object.keys(command.options).length > 0 ? ' [options]' : '';
  return ['egressctl', ...command.words, ...(command.positionals ?? [])].join(' ') + required;
}

/** One command's help: usage, summary, its options, the global ones, notes and the exit codes. */
export function commandHelp<C>(command: CommandSpec<C>): string {
  const rows = (specs: Readonly<Record<string, OptionSpec>>) =>
    Object.entries(specs).map(([name, option]): [string, string] => [
      optionFlag(name, option),
      `${option.description}${option.multiple ? ' (repeatable)' : ''}${option.defaultText ? ` (default: ${option.defaultText})` : ''}`,
    ]);
  const own = rows(command.options);
  return [
    `usage: ${usageLine(command)}`,
    '',
    command.summary,
    '',
    ...(own.length > 0 ? ['options:', ...columns(own), ''] : []),
    'global options:',
    ...columns([...rows(GLOBAL_OPTIONS), ['--help, -h', 'print this help and exit']]),
    ...(command.notes && command.notes.length > 0 ? ['', ...command.notes] : []),
    '',
    ...EXIT_CODE_LINES,
    '',
  ].join('\n');
}

/** The top-level help: every command with its summary (or those of one group, `destinations --help`). */
export function overviewHelp<C>(commands: readonly CommandSpec<C>[], group?: string): string {
  const listed = group === undefined ? commands : commands.filter((command) => command.words[0] === group);
  const rows = listed.map((command): [string, string] => [
    [...command.words, ...(command.positionals ?? [])].join(' '),
    command.summary,
  ]);
  return [
    'usage: egressctl COMMAND [ARGUMENTS] [options]',
    '',
    "Operates dynamic-egress through its HTTP API: destinations and egress policies (CF's v1 API),",
    "security groups (CF's V3 API), the cells' convergence, explain, and importing CF's ASGs.",
    '',
    'commands:',
    ...columns(rows),
    '',
    'global options:',
    ...columns([
      ...Object.entries(GLOBAL_OPTIONS).map(([name, option]): [string, string] => [
        optionFlag(name, option),
        `${option.description}${option.defaultText ? ` (default: ${option.defaultText})` : ''}`,
      ]),
      ['--help, -h', 'print this help (after a command: its usage and options) and exit'],
    ]),
    '',
    'environment:',
    ...columns([
      ['EGRESS_API', 'the API base URL (e.g. http://127.0.0.1:8080)'],
      ['EGRESS_TOKEN', 'the bearer token (`npm run --silent token` prints one for local mode)'],
      [
        'EGRESS_LOCAL_DIR',
        "local mode's state folder, where the API's URL and the issuer key are found (default: .local)",
      ],
    ]),
    '',
    ...EXIT_CODE_LINES,
    '',
    "Run `egressctl COMMAND --help` for a command's usage and options.",
    '',
  ].join('\n');
}
