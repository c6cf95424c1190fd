// The answer of GET /explain (core/plan/explain.ts's Explanation, explain-layer7.ts's for http and
// https) for the OpenAPI document: each
// reason by its `type`. The API tests check every explain answer they get against it
// (test/helpers/openapi-responses.ts), one of each reason type, so the two cannot drift apart.
import * as z from 'zod/mini';
import { egressPolicyDocumentSchema } from '../../../core/domain/schemas.js';
import { LIFECYCLES } from '../../../core/domain/security-group.js';
import { securityGroupRuleSchema } from '../v3/security-group-schemas.js';

const description = z.string();

const reasonSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('egress_policy'), description, policy: egressPolicyDocumentSchema }),
  z.strictObject({
    type: z.literal('security_group'),
    description,
    security_group: z.strictObject({ guid: z.string(), name: z.string() }),
    bound: z.array(z.enum(['global', 'space', 'organization'])),
    lifecycle: z.enum(LIFECYCLES),
    rule_index: z.number().check(z.int(), z.gte(0)),
    rule: securityGroupRuleSchema,
  }),
  z.strictObject({
    type: z.literal('deny_network'),
    description,
    cidr: z.string(),
    list: z.enum(['always', 'running', 'staging']),
  }),
  z.strictObject({ type: z.literal('default_deny'), description }),
  z.strictObject({ type: z.literal('not_enforced'), description, policy: egressPolicyDocumentSchema }),
  z.strictObject({ type: z.literal('resolved_names'), description, policy: egressPolicyDocumentSchema }),
  z.strictObject({ type: z.literal('not_egress'), description, overlay: z.string() }),
  // http and https questions (core/plan/explain-layer7.ts).
  z.strictObject({
    type: z.literal('layer7_destination'),
    description,
    destination: z.strictObject({ id: z.string(), name: z.string() }),
    route_index: z.optional(z.number().check(z.int(), z.gte(0))),
    policies: z.array(egressPolicyDocumentSchema),
  }),
  z.strictObject({
    type: z.literal('layer7_refused'),
    description,
    near: z.array(z.strictObject({ destination: z.string(), why: z.string() })),
  }),
]);

export const explainResponseSchema = z.strictObject({
  allowed: z.boolean(),
  /** The policy version read before the policies: the answer reflects at least that version. */
  version: z.number().check(z.int(), z.gte(0)),
  reasons: z.array(reasonSchema),
});
