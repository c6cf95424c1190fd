// The v1 response bodies that had no schema: the destination list (types.ts) and the cell list
// (cells.ts). Nothing parses them at run time; the OpenAPI document (lambdas/api/openapi/) is built
// from them and the API tests check every response against it. Apart from schemas.ts so the
// handlers' bundles do not carry them (building a zod schema runs code a bundler cannot drop).
import * as z from 'zod/mini';
import { destinationDocumentSchema } from './schemas.js';

const count = () => z.number().check(z.int(), z.gte(0));

/** The body of every destination route: GET, POST, PUT and DELETE (types.ts's DestinationList). */
export const destinationListSchema = z.strictObject({
  total_destinations: count(),
  destinations: z.array(destinationDocumentSchema),
});

/** One cell's status (cells.ts's CellStatus). */
export const cellStatusSchema = z.strictObject({
  name: z.string(),
  applied_version: count(),
  applied_at: z.string(),
  synced_at: z.string(),
  containers: count(),
  rules: count(),
  lag_versions: count(),
  lag_seconds: z.number().check(z.gte(0)),
});

/** The body of GET /cells (cells.ts's CellList). */
export const cellListSchema = z.strictObject({
  current_version: count(),
  total_cells: count(),
  cells: z.array(cellStatusSchema),
});
