// Local cells for local mode, from the JSON file named by EGRESS_LOCAL_CELLS:
//   [{"name": "cell-1", "netns": "<namespace to run the agent in>", "containers": "<path to its store.json>",
//     "log": "<optional: file receiving its refused connections as JSON lines (cell-logging.ts)>"}]
// Names and namespaces become the agent's --cell-name and --netns: held to the alphabet the agent accepts.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import * as z from 'zod/mini';
import { SAFE_NAME } from '../../agent/cli-args.js';
import { ValidationError } from '../../core/domain/errors.js';
import { parseWith, zodEnglish } from '../../core/domain/validation.js';

// Type errors keep zod's English text (`zodEnglish`), as before zod/mini.
const english = { error: zodEnglish };
const safeName = () => z.string(english).check(z.regex(SAFE_NAME, 'must be 1-64 letters, digits, ".", "_" or "-"'));

const localCellsSchema = z
  .array(
    z.strictObject(
      {
        name: safeName(),
        netns: safeName(),
        containers: z.string(english).check(z.minLength(1, 'must be the path of a store.json')),
        log: z.optional(z.string(english).check(z.minLength(1, 'must be the path of a file'))),
      },
      english,
    ),
    english,
  )
  .check(
    z.minLength(1, 'must list at least one cell'),
    z.refine((cells) => new Set(cells.map((cell) => cell.name)).size === cells.length, 'cell names must be unique'),
  );

export interface LocalCell {
  readonly name: string;
  /** Namespace the agent runs in; undefined for the dry-run cell, which changes nothing. */
  readonly netns?: string;
  readonly containers: string;
  /** File that receives the cell's refused connections, enriched (cell-logging.ts). */
  readonly log?: string;
}

export function readLocalCells(file: string): LocalCell[] {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ValidationError(`EGRESS_LOCAL_CELLS: cannot read ${file}: ${(error as Error).message}`);
  }
  return parseWith(localCellsSchema, value, 'EGRESS_LOCAL_CELLS').map(({ log, ...cell }) => ({
    ...cell,
    containers: resolve(cell.containers),
    ...(log === undefined ? {} : { log: resolve(log) }),
  }));
}
