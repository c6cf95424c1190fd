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
  return issues
    .map((issue) => {
      if (issue.code === 'unrecognized_keys') {
        return `${formatPath(issue.path) || root}: unknown field(s) ${issue.keys.map((key) => JSON.stringify(key)).join(', ')}`;
      }
      return `${formatPath(issue.path) || root}: ${issue.message}`;
    })
    .join('; ');
}

/** Parse with a schema or throw a ValidationError that names every bad field. */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown, root?: string): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw new ValidationError(formatIssues(result.error.issues, root));
  return result.data;
}
