// The answer of GET /explain (why a workload may or may not reach an address), for the OpenAPI
// document. The route and its domain type are being added beside this work; once they land, this
// schema belongs next to that type. Reasons are loose objects: each type may carry more fields.
import * as z from 'zod/mini';

export const EXPLAIN_REASON_TYPES = ['egress_policy', 'security_group', 'deny_network', 'default_deny'] as const;

export const explainResponseSchema = z.strictObject({
  allowed: z.boolean(),
  /** The policy version the answer was computed from. */
  version: z.number().check(z.int(), z.gte(0)),
  reasons: z.array(z.looseObject({ type: z.enum(EXPLAIN_REASON_TYPES), description: z.string() })),
});
