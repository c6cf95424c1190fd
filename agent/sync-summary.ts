// The last line of `agent sync --from-dynamodb`, in the project's log shape (core/log.ts):
//   {"level":"INFO","message":"cell synced","timestamp":"…","service":"dynamic-egress-agent",
//    "version":7,"origin":"table","changed":true,"applied":true,"rules":12,"containers":3,"reported":true}
// Since then it also carries what the run changed (`changes` below: sets, chainsCreated, …, durationMs);
// readers take the fields above and ignore the rest. `sync --policies` ends with the same kind of line,
// message RULES_APPLIED, without the table's fields (version, origin, reported), and with the policies
// file's sha256 (policiesSha256) in place of a version.
// The agent writes it; local mode reads it back when it runs the agent as a process, as an operator
// reads it in SSM's command output.
import * as z from 'zod/mini';
import type { SyncResult } from './sync.js';

export const AGENT_SERVICE = 'dynamic-egress-agent';
export const CELL_SYNCED = 'cell synced';
export const RULES_APPLIED = 'rules applied';
/** A WARN line before the summary: a host set no rule uses any more could not be destroyed (sync.ts). */
export const HOST_SET_KEPT = 'host set not destroyed';
/**
 * A WARN line before the summary: a container's policies give it one port as http and as https, so
 * it gets neither destination (core/plan/layer7-conflicts.ts) until they are changed.
 */
export const PROXY_PORT_CONFLICT = 'layer-7 destinations withheld: one port as http and https';

export const syncSummarySchema = z.object({
  /** The policy version now in force (or that would be, for a preview). */
  version: z.number(),
  /** 'table' (read now), 'cache' (unchanged version) or 'empty' (nothing published yet). */
  origin: z.enum(['table', 'cache', 'empty']),
  /** Whether the kernel differed from the desired rules. */
  changed: z.boolean(),
  /** False for `--dry-run` and `--render-only`. */
  applied: z.boolean(),
  rules: z.number(),
  containers: z.number(),
  /** Whether the table has this cell's report (false for a preview, or if the report failed). */
  reported: z.boolean(),
});

export type SyncSummary = z.infer<typeof syncSummarySchema>;

const syncedLineSchema = z.extend(syncSummarySchema, {
  level: z.literal('INFO'),
  message: z.literal(CELL_SYNCED),
  timestamp: z.string(),
  service: z.literal(AGENT_SERVICE),
});

/** The summary a line of the agent's output carries; undefined if it is not the summary line. */
export function readSyncedLine(line: string): SyncSummary | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  const parsed = syncedLineSchema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

/** One line for a person: what a sync did to the kernel. */
export function describeSync(summary: Pick<SyncSummary, 'changed' | 'rules' | 'origin'>): string {
  return `${summary.changed ? 'rules changed' : 'no change'}, ${summary.rules} rules (${summary.origin})`;
}

/** What a sync changed in the kernel and how long it took, as the summary lines carry it. */
export function changes(result: SyncResult, durationMs: number) {
  const { sets, chainsCreated, chainsDeleted, rulesWritten, rulesDeleted, setsCreated, setsDestroyed } = result.stats;
  return {
    sets,
    chainsCreated,
    chainsDeleted,
    rulesWritten,
    rulesDeleted,
    setsCreated,
    setsDestroyed,
    durationMs: Math.round(durationMs),
  };
}
