// The API's answers as egressctl reads them, checked with zod before use: an answer of another shape
// (an older or newer server, a proxy's page) fails the command with what did not fit, never a crash.
// Loose objects: fields we do not print are kept, so `--json` prints what the API said.
import * as z from 'zod/mini';
import { ValidationError } from '../core/domain/errors.js';
import { parseWith } from '../core/domain/validation.js';
import { CommandFailed } from './errors.js';
import './zod-messages.js';

const range = z.object({ start: z.number(), end: z.number() });
const ipRange = z.object({ start: z.string(), end: z.string() });

export const destinationSchema = z.looseObject({
  id: z.string(),
  name: z.string(),
  description: z.optional(z.string()),
  ips: z.array(ipRange),
  hosts: z.optional(z.array(z.string())),
  ports: z.optional(z.array(range)),
  protocol: z.string(),
  icmp_type: z.optional(z.number()),
  icmp_code: z.optional(z.number()),
  routes: z.optional(
    z.array(
      z.looseObject({
        methods: z.optional(z.array(z.string())),
        path_regex: z.optional(z.string()),
        headers: z.optional(z.record(z.string(), z.string())),
      }),
    ),
  ),
});
export type Destination = z.infer<typeof destinationSchema>;

export const destinationListSchema = z.looseObject({
  total_destinations: z.number(),
  destinations: z.array(destinationSchema),
});

export const policySchema = z.looseObject({
  id: z.string(),
  source: z.looseObject({ type: z.string(), id: z.string() }),
  destination: destinationSchema,
  app_lifecycle: z.optional(z.string()),
});
export type Policy = z.infer<typeof policySchema>;

export const policyListSchema = z.looseObject({
  total_egress_policies: z.number(),
  egress_policies: z.array(policySchema),
});

export const cellStatusSchema = z.looseObject({
  name: z.string(),
  applied_version: z.number(),
  applied_at: z.string(),
  synced_at: z.string(),
  containers: z.number(),
  rules: z.number(),
  lag_versions: z.number(),
  lag_seconds: z.number(),
});
export type CellStatus = z.infer<typeof cellStatusSchema>;

export const cellListSchema = z.looseObject({
  current_version: z.number(),
  total_cells: z.number(),
  cells: z.array(cellStatusSchema),
});
export type CellList = z.infer<typeof cellListSchema>;

const related = z.object({ data: z.array(z.object({ guid: z.string() })) });

export const securityGroupSchema = z.looseObject({
  guid: z.string(),
  name: z.string(),
  rules: z.array(z.record(z.string(), z.unknown())),
  globally_enabled: z.object({ running: z.boolean(), staging: z.boolean() }),
  relationships: z.looseObject({
    running_spaces: related,
    staging_spaces: related,
    running_organizations: z.optional(related),
    staging_organizations: z.optional(related),
  }),
});
export type SecurityGroup = z.infer<typeof securityGroupSchema>;

export const securityGroupListSchema = z.looseObject({
  pagination: z.looseObject({ total_results: z.number(), total_pages: z.number() }),
  resources: z.array(securityGroupSchema),
});

export const explanationSchema = z.looseObject({
  allowed: z.boolean(),
  version: z.number(),
  reasons: z.array(z.looseObject({ type: z.string(), description: z.string() })),
});
export type Explanation = z.infer<typeof explanationSchema>;

/** `value` as `schema` says, or a CommandFailed naming what did not fit. */
export function decodeAnswer<S extends z.core.$ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  try {
    return parseWith(schema, value, what);
  } catch (error) {
    if (error instanceof ValidationError) {
      throw new CommandFailed(`unexpected answer from the API: ${error.message}`, 'is --api the dynamic-egress API?');
    }
    throw error;
  }
}
