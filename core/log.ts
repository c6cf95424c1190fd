// One log line shape everywhere. The Lambdas log with Powertools Logger; local mode and the agent
// write the same keys with this small writer, one JSON object per line:
//   {"level":"INFO","message":"...","timestamp":"2026-...Z","service":"dynamic-egress-agent", ...attributes}
// Errors among the attributes become {name, message, stack}, as Powertools formats them.

export type LogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
export type LogAttributes = Readonly<Record<string, unknown>>;

/** What the code that logs depends on; Powertools' Logger and `jsonLineLog` both provide it. */
export interface Log {
  debug(message: string, attributes?: LogAttributes): void;
  info(message: string, attributes?: LogAttributes): void;
  warn(message: string, attributes?: LogAttributes): void;
  error(message: string, attributes?: LogAttributes): void;
}

export interface JsonLineLogOptions {
  /** The `service` key of every line. */
  readonly service: string;
  /** Where each line goes (without its newline). @default stdout for DEBUG and INFO, stderr for WARN and ERROR */
  readonly write?: (line: string, level: LogLevel) => void;
  /** Lines below this level are dropped. @default 'INFO' */
  readonly level?: LogLevel;
  readonly now?: () => Date;
}

const RANK: Readonly<Record<LogLevel, number>> = { DEBUG: 0, INFO: 1, WARN: 2, ERROR: 3 };

function writeToConsole(line: string, level: LogLevel): void {
  if (RANK[level] >= RANK.WARN) process.stderr.write(`${line}\n`);
  else process.stdout.write(`${line}\n`);
}

/** An Error as Powertools prints it; anything else unchanged. */
function serializable(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message, stack: value.stack };
  return value;
}

export function jsonLineLog(options: JsonLineLogOptions): Log {
  const write = options.write ?? writeToConsole;
  const threshold = RANK[options.level ?? 'INFO'];
  const now = options.now ?? (() => new Date());
  const line =
    (level: LogLevel) =>
    (message: string, attributes: LogAttributes = {}): void => {
      if (RANK[level] < threshold) return;
      const entry = { level, message, timestamp: now().toISOString(), service: options.service, ...attributes };
      write(JSON.stringify(entry, serializable), level);
    };
  return { debug: line('DEBUG'), info: line('INFO'), warn: line('WARN'), error: line('ERROR') };
}

/** A Log that drops everything (tests, or callers that log nothing). */
export const silentLog: Log = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};
