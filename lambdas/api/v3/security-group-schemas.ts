// The V3 security group bodies as zod schemas, for the OpenAPI document (../openapi/) and the types
// of what the presenter returns. Requests are still decoded by security-group-body.ts, which gives
// Cloud Controller's own messages (every problem at once, CF's wording); these describe the same
// shapes. Kept out of the handlers' imports (type-only there), so their bundles do not carry them.
import * as z from 'zod/mini';
import { SECURITY_GROUP_PROTOCOLS } from '../../../core/domain/security-group.js';

const link = z.strictObject({ href: z.string() });
const timestamp = z.string();
const count = () => z.number().check(z.int(), z.gte(0));

/** CF's to-many relationship: `{"data": [{"guid": ...}]}`. */
export const toManyRelationshipSchema = z.strictObject({ data: z.array(z.strictObject({ guid: z.string() })) });

/** A rule as CF takes and returns it; which keys a protocol allows is security-group-rules.ts's to check. */
export const securityGroupRuleSchema = z.strictObject({
  protocol: z.enum(SECURITY_GROUP_PROTOCOLS),
  /** One IPv4 address, a CIDR, a range `a-b`, or a comma-separated list of these. */
  destination: z.string(),
  /** tcp and udp: `443`, `80,443` or `8000-9000`. */
  ports: z.optional(z.string()),
  type: z.optional(z.number().check(z.int(), z.gte(-1), z.lte(255))),
  code: z.optional(z.number().check(z.int(), z.gte(-1), z.lte(255))),
  log: z.optional(z.boolean()),
  description: z.optional(z.string()),
});

const globallyEnabled = { running: z.boolean(), staging: z.boolean() };

const relationships = <S extends z.core.$ZodType>(schema: S) =>
  z.strictObject({
    running_spaces: schema,
    staging_spaces: schema,
    running_organizations: schema,
    staging_organizations: schema,
  });

/** A security group as the V3 presenter shows it (security-group-presenter.ts). */
export const securityGroupResourceSchema = z.strictObject({
  guid: z.string(),
  created_at: timestamp,
  updated_at: timestamp,
  name: z.string(),
  rules: z.array(securityGroupRuleSchema),
  globally_enabled: z.strictObject(globallyEnabled),
  relationships: relationships(toManyRelationshipSchema),
  links: z.strictObject({ self: link }),
});

/** CF's list envelope: pagination with absolute links, then the page's resources. */
export const securityGroupListSchema = z.strictObject({
  pagination: z.strictObject({
    total_results: count(),
    total_pages: count(),
    first: link,
    last: link,
    next: z.nullable(link),
    previous: z.nullable(link),
  }),
  resources: z.array(securityGroupResourceSchema),
});

/** The answer to a bind: the relationship after it. */
export const relationshipResourceSchema = z.strictObject({
  data: toManyRelationshipSchema.def.shape.data,
  links: z.strictObject({ self: link }),
});

/** A job (CF answers a delete with one); ours are complete when the delete is answered. */
export const jobResourceSchema = z.strictObject({
  guid: z.string(),
  created_at: timestamp,
  updated_at: timestamp,
  operation: z.string(),
  state: z.literal('COMPLETE'),
  errors: z.array(z.unknown()),
  warnings: z.array(z.unknown()),
  links: z.strictObject({ self: link }),
});

/** POST /v3/security_groups: only `name` is required. */
export const createSecurityGroupBodySchema = z.strictObject({
  name: z.string().check(z.minLength(1), z.maxLength(250)),
  globally_enabled: z.optional(z.strictObject({ running: z.optional(z.boolean()), staging: z.optional(z.boolean()) })),
  relationships: z.optional(relationships(z.optional(toManyRelationshipSchema))),
  rules: z.optional(z.array(securityGroupRuleSchema)),
});

/** PATCH /v3/security_groups/{id}: absent fields stay; `rules` replaces the list. */
export const updateSecurityGroupBodySchema = z.strictObject({
  name: z.optional(z.string().check(z.minLength(1), z.maxLength(250))),
  globally_enabled: z.optional(z.strictObject({ running: z.optional(z.boolean()), staging: z.optional(z.boolean()) })),
  rules: z.optional(z.array(securityGroupRuleSchema)),
});

export type SecurityGroupResource = z.output<typeof securityGroupResourceSchema>;
export type RelationshipResource = z.output<typeof relationshipResourceSchema>;
export type JobResource = z.output<typeof jobResourceSchema>;
