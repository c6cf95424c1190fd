import * as z from 'zod/mini';
import { ValidationError } from './errors.js';

/** `destinations[0].ips[0].start` from zod's path array. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((key, index) => (typeof key === 'number' ? `[${key}]` : `${index === 0 ? '' : '.'}${String(key)}`))
    .join('');
}

/** One line per problem, each naming the field and the rule it broke. */
export function formatIssues(issues: readonly z.core.$ZodIssue[], root = 'request body'): string {
  // Problems with the whole document are named after it (`request body: must be a JSON object`);
  // an empty root leaves them unprefixed, for callers that name the document themselves.
  const located = (path: readonly PropertyKey[], message: string): string => {
    const where = formatPath(path) || root;
    return where ? `${where}: ${message}` : message;
  };
  return issues
    .map((issue) => {
      if (issue.code === 'unrecognized_keys') {
        return located(issue.path, `unknown field(s) ${issue.keys.map((key) => JSON.stringify(key)).join(', ')}`);
      }
      return located(issue.path, issue.message);
    })
    .join('; ');
}

/** Parse with a schema or throw a ValidationError that names every bad field. */
export function parseWith<S extends z.core.$ZodType>(schema: S, value: unknown, root?: string): z.output<S> {
  const result = z.safeParse(schema, value);
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
