// A command line as a table of commands. Each entry names its command word (and, for a second form
// of one command, the flag that selects it), its options, and how their values become one typed
// command. A command line is parsed with one strict parseArgs call; every mistake is a UsageError.
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { UsageError } from './errors.js';

type OptionsConfig = NonNullable<ParseArgsConfig['options']>;
type StrictConfig<O extends OptionsConfig> = { args: string[]; options: O; strict: true; allowPositionals: false };

/** The values parseArgs returns for `options`, typed from them (node:util does not export this type). */
export type OptionValues<O extends OptionsConfig> = ReturnType<typeof parseArgs<StrictConfig<O>>>['values'];

export interface CommandSpec<O extends OptionsConfig, T> {
  /** The word after the program name, e.g. `sync`. */
  readonly name: string;
  /** A boolean option that selects this form of `name` (`sync --from-dynamodb`); the form without one is the default. */
  readonly form?: keyof O & string;
  /** Its usage line without the program name, e.g. `sync --policies FILE …`. */
  readonly usage: string;
  readonly options: O;
  /** Checks the values beyond their types and builds the command; throws UsageError. */
  readonly build: (values: OptionValues<O>) => T;
}

/** One table entry, its option types sealed inside `parse`. */
export interface Command<T> {
  readonly name: string;
  readonly form: string | undefined;
  readonly usage: string;
  parse(args: readonly string[]): T;
}

export function command<O extends OptionsConfig, T>(spec: CommandSpec<O, T>): Command<T> {
  return {
    name: spec.name,
    form: spec.form,
    usage: spec.usage,
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

/** The command `argv` names, built by its table entry. */
export function parseCommandLine<T>(commands: readonly Command<T>[], argv: readonly string[]): T {
  const [name, ...rest] = argv;
  if (name === undefined) throw new UsageError('missing command');
  const forms = commands.filter((entry) => entry.name === name);
  if (forms.length === 0) throw new UsageError(`unknown command ${JSON.stringify(name)}`);
  const chosen =
    forms.find((entry) => entry.form !== undefined && rest.includes(`--${entry.form}`)) ??
    forms.find((entry) => entry.form === undefined);
  if (chosen === undefined) {
    throw new UsageError(`${name}: one of ${forms.map((entry) => `--${entry.form}`).join(', ')} is required`);
  }
  return chosen.parse(rest);
}

/** `usage: <program> …`, one line per table entry. */
export function usageOf(program: string, commands: readonly Command<unknown>[]): string {
  return commands.map((entry, index) => `${index === 0 ? 'usage: ' : '       '}${program} ${entry.usage}`).join('\n');
}
