// The command lines of `npm start`, `npm run token` and `npm run demo`, each described by one table
// (CommandLineSpec): the parser reads the arguments from it and `--help` is printed from it, so the
// help cannot drift from what is parsed (as agent/command-line.ts does for the agent). Parsers return
// plain values, the options or the one line to print as `error: ...` before exiting with EXIT_USAGE,
// so that they are tested without a process and the entry points in bin/ only wire them to one.

export const EXIT_USAGE = 2;

/** Environment variables as the process has them (absent ones are undefined). */
export type Environment = Readonly<Record<string, string | undefined>>;

export type Parsed<T> = { readonly ok: true; readonly options: T } | { readonly ok: false; readonly error: string };

/** One option of a command line, as parsed and as `--help` prints it. */
export interface OptionSpec {
  /** Its value's placeholder (`SECONDS`); without one the option is a flag that takes no value. */
  readonly value?: string;
  /** What it does, one line. */
  readonly description: string;
  /** The default as a person reads it. */
  readonly default: string;
  /** May be given more than once (every value counts); otherwise the last one counts. */
  readonly repeatable?: boolean;
}

/** One environment variable a command reads, for `--help`. */
export interface VariableSpec {
  readonly description: string;
  readonly default: string;
}

export interface CommandLineSpec {
  /** The usage line, e.g. `npm run --silent token -- [--scope SCOPE]... [--ttl SECONDS]`. */
  readonly usage: string;
  /** What the command does, one or more lines. */
  readonly summary: string;
  /** By name without the leading `--`. */
  readonly options: Readonly<Record<string, OptionSpec>>;
  readonly environment?: Readonly<Record<string, VariableSpec>>;
  /** Lines after everything else (examples). */
  readonly notes?: readonly string[];
}

/** What was given: each option given, with its values in order (none for a flag). */
export type GivenOptions = ReadonlyMap<string, readonly string[]>;

const HELP_FLAGS = ['--help', '-h'];

/** True when the arguments ask for help (`--help` or `-h`, anywhere). */
export function helpRequested(argv: readonly string[]): boolean {
  return argv.some((arg) => HELP_FLAGS.includes(arg));
}

/**
 * Reads `--name VALUE`, `--name=VALUE` and `--flag` as the table says. Every argument the table does
 * not know is named in one error; an option missing its value, or a flag given one, is its own error.
 */
export function readCommandLine(spec: CommandLineSpec, argv: readonly string[]): Parsed<GivenOptions> {
  const given = new Map<string, string[]>();
  const unknown: string[] = [];
  for (let index = 0; index < argv.length; index += 1) {
    const arg = argv[index] ?? '';
    const [, name, inline] = /^--([^=]+)(?:=([\s\S]*))?$/.exec(arg) ?? [];
    const option = name === undefined ? undefined : spec.options[name];
    if (name === undefined || option === undefined) {
      if (!unknown.includes(arg)) unknown.push(arg);
      continue;
    }
    let value = inline;
    if (option.value === undefined) {
      if (value !== undefined) return { ok: false, error: `--${name} takes no value, got ${JSON.stringify(value)}` };
    } else if (value === undefined) {
      const next = argv[index + 1];
      if (next === undefined || next.startsWith('--')) {
        return { ok: false, error: `--${name} needs a value (--${name} ${option.value})` };
      }
      value = next;
      index += 1;
    }
    const values = option.repeatable ? (given.get(name) ?? []) : [];
    given.set(name, value === undefined ? values : [...values, value]);
  }
  if (unknown.length > 0) {
    const known = Object.keys(spec.options).map((name) => `--${name}`);
    return {
      ok: false,
      error: `unknown argument(s): ${unknown.join(' ')} (known: ${[...known, '--help'].join(' ')})`,
    };
  }
  return { ok: true, options: given };
}

function columns(rows: readonly (readonly [string, string])[]): string[] {
  const width = Math.max(...rows.map(([left]) => left.length));
  return rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`.trimEnd());
}

/** `--help`: the usage, the summary, one line per option and per variable with its default. */
export function helpText(spec: CommandLineSpec): string {
  const options = Object.entries(spec.options).map(([name, option]): [string, string] => [
    `--${name}${option.value === undefined ? '' : ` ${option.value}`}`,
    `${option.description} (default: ${option.default})`,
  ]);
  const variables = Object.entries(spec.environment ?? {}).map(([name, variable]): [string, string] => [
    name,
    `${variable.description} (default: ${variable.default})`,
  ]);
  return [
    `usage: ${spec.usage}`,
    '',
    spec.summary,
    '',
    'options:',
    ...columns([...options, ['--help, -h', 'print this help and exit']]),
    ...(variables.length > 0 ? ['', 'environment:', ...columns(variables)] : []),
    ...(spec.notes && spec.notes.length > 0 ? ['', ...spec.notes] : []),
    '',
  ].join('\n');
}
