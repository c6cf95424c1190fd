import type { z } from 'zod';
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
export function parseWith<S extends z.ZodType>(schema: S, value: unknown, root?: string): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw new ValidationError(formatIssues(result.error.issues, root));
  return result.data;
}
