// A JSON file named on the command line (`--file FILE`, `import-asgs FILE`; `-` is standard input).
import { readFileSync } from 'node:fs';
import * as z from 'zod/mini';
import { CommandFailed } from './errors.js';

export function readJsonFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path === '-' ? 0 : path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new CommandFailed(`cannot read ${path}: ${code}`, 'check the path');
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new CommandFailed(`${path} is not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/**
 * The items of a bulk body from a file: `{"<key>": [...]}` as the API takes it, a bare array, or one
 * item; whatever the items hold is the API's to check.
 */
const objectSchema = z.record(z.string(), z.unknown());

export function bulkItems(document: unknown, key: string, path: string): unknown[] {
  if (Array.isArray(document)) return document;
  const object = objectSchema.safeParse(document);
  if (object.success) {
    const items = object.data[key];
    if (items === undefined) return [document];
    if (Array.isArray(items)) return items;
  }
  throw new CommandFailed(`${path}: expected {"${key}": [...]}, an array or one object`);
}
