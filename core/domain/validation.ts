import * as z from 'zod/mini';
import { ValidationError } from './errors.js';

/** `destinations[0].ips[0].start` from zod's path array. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((key, index) => (typeof key === 'number' ? `[${key}]` : `${index === 0 ? '' : '.'}${String(key)}`))
    .join('');
}

/**
 * Characters that must not reach a terminal or a log viewer as they are: controls (ESC starts a
 * terminal escape sequence; CR, BS and DEL overwrite what was printed), format characters (bidi
 * overrides and isolates reorder the line, zero-width ones hide text), line/paragraph separators and
 * lone surrogates. Input text is quoted in error messages, so every message goes through this.
 */
const NON_PRINTING = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/gu;

/** `text` with every non-printing character written as a `\u` escape (`\u001b`, `\u202e`, `\u{e0001}`). */
export function escapeNonPrinting(text: string): string {
  return text.replace(NON_PRINTING, (char) => {
    const code = char.codePointAt(0) ?? 0;
    return code > 0xffff ? `\\u{${code.toString(16)}}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/**
 * `value` as one JSON line a terminal or log viewer shows as it is: JSON.stringify leaves DEL, the C1
 * controls (U+009B is a terminal's CSI), format characters and U+2028/9 as they are; here they are
 * `\uXXXX` escapes (a character beyond U+FFFF as its two surrogates), which JSON reads back the same.
 */
export function jsonText(value: unknown): string {
  return JSON.stringify(value).replace(NON_PRINTING, (char) => {
    let escaped = '';
    for (let index = 0; index < char.length; index += 1) {
      escaped += `\\u${char.charCodeAt(index).toString(16).padStart(4, '0')}`;
    }
    return escaped;
  });
}

/** A value from the input as it appears in a message: JSON-quoted, non-printing characters escaped. */
export function quote(value: string): string {
  return escapeNonPrinting(JSON.stringify(value));
}

/**
 * At most this many problems are listed, then a count of the others: one bad field in 20,000 is
 * usually the same mistake 20,000 times, and an error line (or a 400 body) must stay readable.
 * For the same reason one problem is cut after MAX_PROBLEM_LENGTH characters (a path can hold a key
 * of any length from the input).
 */
export const MAX_LISTED_PROBLEMS = 5;
export const MAX_PROBLEM_LENGTH = 500;

/** The first `limit` items, then `…and 19,995 more` when there are others. */
function firstFew(items: readonly string[], limit: number): string[] {
  const more = items.length - limit;
  return more > 0 ? [...items.slice(0, limit), `…and ${more.toLocaleString('en-US')} more`] : [...items];
}

function clip(text: string): string {
  if (text.length <= MAX_PROBLEM_LENGTH) return text;
  // Do not cut a surrogate pair in two.
  const end = /[\uD800-\uDBFF]/.test(text.charAt(MAX_PROBLEM_LENGTH - 1)) ? MAX_PROBLEM_LENGTH - 1 : MAX_PROBLEM_LENGTH;
  return `${text.slice(0, end)}…`;
}

/** `a; b; c; d; e; …and 19,995 more`: each problem clipped, non-printing characters escaped. */
export function listProblems(problems: readonly string[], limit = MAX_LISTED_PROBLEMS): string {
  return firstFew(problems, limit)
    .map((problem) => escapeNonPrinting(clip(problem)))
    .join('; ');
}

/** The problems joined by `; `, each naming the field and the rule it broke (see listProblems). */
export function formatIssues(issues: readonly z.core.$ZodIssue[], root = 'request body'): string {
  // Problems with the whole document are named after it (`request body: must be a JSON object`);
  // an empty root leaves them unprefixed, for callers that name the document themselves.
  const located = (path: readonly PropertyKey[], message: string): string => {
    const where = formatPath(path) || root;
    return where ? `${where}: ${message}` : message;
  };
  return listProblems(
    issues.map((issue) => {
      if (issue.code === 'unrecognized_keys') {
        return located(
          issue.path,
          `unknown field(s) ${firstFew(issue.keys.map(quote), MAX_LISTED_PROBLEMS).join(', ')}`,
        );
      }
      return located(issue.path, issue.message);
    }),
  );
}

const TOO_MANY_ISSUES: z.core.$ZodIssue[] = [
  { code: 'custom', path: [], message: 'too many problems to list them (over 100,000)', input: undefined },
];

/** Parse with a schema or throw a ValidationError that names every bad field. */
export function parseWith<S extends z.core.$ZodType>(schema: S, value: unknown, root?: string): z.output<S> {
  let result: ReturnType<typeof z.safeParse<S>>;
  try {
    result = z.safeParse(schema, value);
  } catch (error) {
    // zod gathers an array's issues with push(...issues): past ~100,000 bad items that overflows the stack.
    if (error instanceof RangeError) throw new ValidationError(formatIssues(TOO_MANY_ISSUES, root));
    throw error;
  }
  if (!result.success) throw new ValidationError(formatIssues(result.error.issues, root));
  return result.data;
}

const SIZE_UNITS: Record<string, string> = { string: 'characters', array: 'items', set: 'items', map: 'entries' };

/**
 * zod's English text for the type, value, size and unknown-key errors of schemas that bring no
 * message of their own (agent documents, snapshots, local config), so those read as they did with
 * classic zod. zod/mini loads no locale (the English one would cost ~3 KB per bundle): such schemas
 * pass this as their `error`, which also covers their checks. Other codes get zod's "Invalid input".
 */
export function zodEnglish(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type': {
      const input = issue.input;
      const received = typeof input === 'number' && !Number.isFinite(input) ? String(input) : z.util.parsedType(input);
      return `Invalid input: expected ${issue.expected}, received ${received}`;
    }
    case 'invalid_value':
      return issue.values.length === 1
        ? `Invalid input: expected ${z.util.stringifyPrimitive(issue.values[0])}`
        : `Invalid option: expected one of ${z.util.joinValues(issue.values, '|')}`;
    case 'too_small':
    case 'too_big': {
      const small = issue.code === 'too_small';
      const limit = small ? issue.minimum : issue.maximum;
      const origin = small ? issue.origin : (issue.origin ?? 'value');
      const unit = SIZE_UNITS[issue.origin ?? ''];
      const relation = `${issue.exact ? 'exactly ' : issue.inclusive ? (small ? '>=' : '<=') : small ? '>' : '<'}${limit}`;
      return `Too ${small ? 'small' : 'big'}: expected ${origin} to ${unit ? `have ${relation} ${unit}` : `be ${relation}`}`;
    }
    case 'unrecognized_keys':
      return `Unrecognized key${issue.keys.length > 1 ? 's' : ''}: ${z.util.joinValues(issue.keys, ', ')}`;
    default:
      return undefined;
  }
}
