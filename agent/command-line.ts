// A command line as a table of commands. Each entry names its command word (and, for a second form
// of one command, the flag that selects it), its options, and how their values become one typed
// command. A command line is parsed with one strict parseArgs call; every mistake is a UsageError.
// `--help` is generated from the same table (helpOf), so the help cannot drift from what is parsed.
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { UsageError } from './errors.js';

type OptionsConfig = NonNullable<ParseArgsConfig['options']>;
type StrictConfig<O extends OptionsConfig> = { args: string[]; options: O; strict: true; allowPositionals: false };

/** The values parseArgs returns for `options`, typed from them (node:util does not export this type). */
export type OptionValues<O extends OptionsConfig> = ReturnType<typeof parseArgs<StrictConfig<O>>>['values'];

/** What `--help` says of one option; parseArgs ignores these keys. */
export interface OptionHelp {
  /** What the option does, one line. */
  readonly description?: string;
  /** The placeholder of its value in the help, e.g. `FILE`. @default VALUE */
  readonly value?: string;
  /** The default as a person reads it, when it is not a literal `default` (e.g. "this host's name"). */
  readonly defaultText?: string;
  readonly required?: boolean;
}

export interface CommandSpec<O extends OptionsConfig, T> {
  /** The word after the program name, e.g. `sync`. */
  readonly name: string;
  /** A boolean option that selects this form of `name` (`sync --from-dynamodb`); the form without one is the default. */
  readonly form?: keyof O & string;
  /** Its usage line without the program name, e.g. `sync --policies FILE …`. */
  readonly usage: string;
  /** One line: what the command does (the top-level help lists it). */
  readonly summary?: string;
  /** More lines shown by its own `--help`, after the options. */
  readonly notes?: readonly string[];
  readonly options: O & { readonly [K in keyof O]: OptionHelp };
  /** Checks the values beyond their types and builds the command; throws UsageError. */
  readonly build: (values: OptionValues<O>) => T;
}

/** One option as the help prints it. */
export interface OptionLine {
  readonly flag: string;
  readonly description: string;
}

/** One table entry, its option types sealed inside `parse`. */
export interface Command<T> {
  readonly name: string;
  readonly form: string | undefined;
  readonly usage: string;
  readonly summary: string;
  readonly notes: readonly string[];
  readonly optionLines: readonly OptionLine[];
  parse(args: readonly string[]): T;
}

const HELP_FLAGS = ['--help', '-h'];

function optionLines(options: Readonly<Record<string, OptionHelp & { type: string; default?: unknown }>>) {
  return Object.entries(options).map(([name, option]): OptionLine => {
    const flag = option.type === 'string' ? `--${name} ${option.value ?? 'VALUE'}` : `--${name}`;
    const defaultText =
      option.defaultText ??
      (option.type === 'string' && typeof option.default === 'string' ? option.default : undefined);
    const suffix =
      option.required === true ? ' (required)' : defaultText === undefined ? '' : ` (default: ${defaultText})`;
    return { flag, description: `${option.description ?? ''}${suffix}` };
  });
}

export function command<O extends OptionsConfig, T>(spec: CommandSpec<O, T>): Command<T> {
  return {
    name: spec.name,
    form: spec.form,
    usage: spec.usage,
    summary: spec.summary ?? '',
    notes: spec.notes ?? [],
    optionLines: [...optionLines(spec.options), { flag: '--help', description: 'print this help and exit' }],
    parse: (args) => {
      let values: OptionValues<O>;
      try {
        ({ values } = parseArgs<StrictConfig<O>>({
          args: [...args],
          options: spec.options,
          strict: true,
          allowPositionals: false,
        }));
      } catch (error) {
        throw new UsageError(error instanceof Error ? error.message : String(error));
      }
      return spec.build(values);
    },
  };
}

/** The entry `argv` names: the form whose flag is given, else the plain one. */
function chosenEntry<T>(commands: readonly Command<T>[], name: string, rest: readonly string[]): Command<T> {
  const forms = commands.filter((entry) => entry.name === name);
  if (forms.length === 0) throw new UsageError(`unknown command ${JSON.stringify(name)}`);
  const chosen =
    forms.find((entry) => entry.form !== undefined && rest.includes(`--${entry.form}`)) ??
    forms.find((entry) => entry.form === undefined);
  if (chosen === undefined) {
    throw new UsageError(`${name}: one of ${forms.map((entry) => `--${entry.form}`).join(', ')} is required`);
  }
  return chosen;
}

/** The command `argv` names, built by its table entry. */
export function parseCommandLine<T>(commands: readonly Command<T>[], argv: readonly string[]): T {
  const [name, ...rest] = argv;
  if (name === undefined) throw new UsageError('missing command');
  return chosenEntry(commands, name, rest).parse(rest);
}

/** `usage: <program> …`, one line per table entry. */
export function usageOf(program: string, commands: readonly Command<unknown>[]): string {
  return commands.map((entry, index) => `${index === 0 ? 'usage: ' : '       '}${program} ${entry.usage}`).join('\n');
}

function columns(rows: readonly OptionLine[]): string[] {
  const width = Math.max(...rows.map((row) => row.flag.length));
  return rows.map((row) => `  ${row.flag.padEnd(width)}  ${row.description}`.trimEnd());
}

/**
 * The help `argv` asks for, or undefined when it asks for none: `--help` (or `-h`) alone gives the
 * program's commands; after a command word, that command's (or that form's) usage and options.
 */
export function helpOf(
  program: string,
  commands: readonly Command<unknown>[],
  argv: readonly string[],
): string | undefined {
  if (!argv.some((arg) => HELP_FLAGS.includes(arg))) return undefined;
  const [name, ...rest] = argv;
  if (name === undefined || HELP_FLAGS.includes(name)) {
    const rows = commands.map((entry) => ({
      flag: `${entry.name}${entry.form === undefined ? '' : ` --${entry.form}`}`,
      description: entry.summary,
    }));
    return [
      usageOf(program, commands),
      '',
      'commands:',
      ...columns(rows),
      '',
      `Run \`${program} COMMAND --help\` (with a form's flag, e.g. \`sync --from-dynamodb --help\`) for its options.`,
      '',
    ].join('\n');
  }
  const entry = chosenEntry(commands, name, rest);
  const others = commands.filter((other) => other.name === entry.name && other !== entry);
  return [
    `usage: ${program} ${entry.usage}`,
    '',
    entry.summary,
    '',
    'options:',
    ...columns(entry.optionLines),
    ...(entry.notes.length > 0 ? ['', ...entry.notes] : []),
    ...others.map(
      (other) => `\nOther form: ${program} ${other.name}${other.form === undefined ? '' : ` --${other.form}`} --help`,
    ),
    '',
  ].join('\n');
}
