// The compact desired-state document cells read: every policy at one policy version, with each
// destination stored once and policies as tuples pointing at it. The fan-out writes it once per
// change; every cell reads it (or only its small pointer, when nothing changed).
import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import * as z from 'zod/mini';
import {
  areIndexesBelow,
  fastDestinationDocument,
  fastSecurityGroupsSection,
  isIdentifierString,
  isIntegerIn,
  isPlain,
  oneOf,
} from './document-fast-path.js';
import { ValidationError } from './errors.js';
import { destinationDocumentSchema, identifierSchema } from './schemas.js';
import type { SecurityGroup } from './security-group.js';
import {
  buildSecurityGroupsSection,
  EMPTY_GROUPS,
  isPlainPolicy,
  type PoliciesWithGroups,
  type SecurityGroupsSection,
  securityGroupsSectionSchema,
} from './snapshot-groups.js';
import type { Destination, EgressPolicy } from './types.js';
import { parseWith, zodEnglish } from './validation.js';

/**
 * Format 3 adds the security groups (snapshot-groups.ts). Format 2 grouped policies by source and
 * left out policy ids: cells never need them, and random ids (36 bytes each, incompressible) were
 * most of a format-1 snapshot at 100,000 policies. Cells read all three.
 */
export const SNAPSHOT_FORMAT = 3;

/**
 * The sources a snapshot lists: apps and spaces, for every lifecycle. Policies for one lifecycle or
 * for every app (`default`) travel as security group bindings (snapshot-groups.ts).
 */
const LISTED_SOURCE_TYPES = ['app', 'space'] as const;

/** [source type, source id, indexes into destinations]: every policy of one source. */
type SourceEntry = [(typeof LISTED_SOURCE_TYPES)[number], string, number[]];

export interface PolicySnapshot {
  readonly format: typeof SNAPSHOT_FORMAT;
  /** The policy version this state is the result of. */
  readonly version: number;
  readonly destinations: Destination[];
  readonly sources: SourceEntry[];
  readonly security_groups: SecurityGroupsSection;
}

// Messages the rules below do not set are zod's English ones (`zodEnglish`), as before zod/mini.
const english = { error: zodEnglish };
const count = () => z.number(english).check(z.int(), z.gte(0));
const sourceType = () => z.enum(LISTED_SOURCE_TYPES, english);

const snapshotFields = {
  version: count(),
  destinations: z.array(destinationDocumentSchema, english),
  sources: z.array(
    z.tuple([sourceType(), identifierSchema, z.array(count(), english).check(z.minLength(1))], english),
    english,
  ),
};

/** Every source points inside the destinations (formats 2 and 3). */
const sourcesInside = z.superRefine(
  (snapshot: { destinations: readonly unknown[]; sources: readonly SourceEntry[] }, ctx) => {
    snapshot.sources.forEach(([, , indexes], index) => {
      if (indexes.some((destination) => destination >= snapshot.destinations.length)) {
        ctx.addIssue({ code: 'custom', path: ['sources', index, 2], message: 'points past the destinations' });
      }
    });
  },
);

export const snapshotSchema = z
  .object(
    {
      format: z.literal(SNAPSHOT_FORMAT, {
        error: `must be 1, 2 or ${SNAPSHOT_FORMAT} (this agent's snapshot formats)`,
      }),
      ...snapshotFields,
      security_groups: securityGroupsSectionSchema,
    },
    english,
  )
  .check(sourcesInside);

/** Format 2 (no security groups), still read so that cells keep working across an upgrade. */
const formatTwoSchema = z.pipe(
  z.object({ format: z.literal(2, english), ...snapshotFields }, english).check(sourcesInside),
  z.transform((old): PolicySnapshot => ({ ...old, format: SNAPSHOT_FORMAT, security_groups: EMPTY_GROUPS })),
);

/** Format 1 (policy tuples with ids), still read so that cells keep working across an upgrade. */
const formatOneSchema = z.pipe(
  z.object(
    {
      format: z.literal(1, english),
      version: count(),
      destinations: z.array(destinationDocumentSchema, english),
      policies: z.array(
        z.tuple([z.string(english).check(z.minLength(1)), sourceType(), identifierSchema, count()], english),
        english,
      ),
    },
    english,
  ),
  z.transform(
    (old): PolicySnapshot => ({
      format: SNAPSHOT_FORMAT,
      version: old.version,
      destinations: old.destinations,
      sources: groupBySource(old.policies.map(([, type, id, index]) => [type, id, index] as const)),
      security_groups: EMPTY_GROUPS,
    }),
  ),
);

function groupBySource(policies: Iterable<readonly [SourceEntry[0], string, number]>): SourceEntry[] {
  const bySource = new Map<string, SourceEntry>();
  for (const [type, id, index] of policies) {
    const key = `${type} ${id}`;
    const entry = bySource.get(key);
    if (entry) entry[2].push(index);
    else bySource.set(key, [type, id, [index]]);
  }
  return [...bySource.values()];
}

export function buildSnapshot(
  version: number,
  policies: readonly EgressPolicy[],
  groups: readonly SecurityGroup[] = [],
): PolicySnapshot {
  const indexById = new Map<string, number>();
  const destinations: Destination[] = [];
  const tuples = policies.flatMap((policy) => {
    const { type } = policy.source;
    if (!isPlainPolicy(policy) || type === 'default') return [];
    let index = indexById.get(policy.destination.id);
    if (index === undefined) {
      index = destinations.push(policy.destination) - 1;
      indexById.set(policy.destination.id, index);
    }
    return [[type, policy.source.id, index] as const];
  });
  return {
    format: SNAPSHOT_FORMAT,
    version,
    destinations,
    sources: groupBySource(tuples),
    security_groups: buildSecurityGroupsSection(groups, policies),
  };
}

/** Throws the ValidationError a cell would raise on this snapshot (e.g. a destination stored under older rules). */
export function assertValidSnapshot(snapshot: PolicySnapshot): void {
  parseWith(snapshotSchema, snapshot, 'snapshot');
}

export interface EncodedSnapshot {
  readonly version: number;
  readonly bytes: Buffer;
  /** sha256 of `bytes`, hex: readers check that the chunks they got belong together. */
  readonly sha256: string;
}

export function encodeSnapshot(snapshot: PolicySnapshot): EncodedSnapshot {
  const bytes = gzipSync(JSON.stringify(snapshot));
  return { version: snapshot.version, bytes, sha256: sha256(bytes) };
}

export function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Verifies, inflates and validates a snapshot; anything wrong is a ValidationError. */
export function decodeSnapshot(bytes: Buffer, expectedSha256: string): PolicySnapshot {
  if (sha256(bytes) !== expectedSha256)
    throw new ValidationError('snapshot: checksum mismatch (incomplete or mixed chunks)');
  let value: unknown;
  try {
    value = JSON.parse(gunzipSync(bytes).toString('utf8'));
  } catch (error) {
    throw new ValidationError(`snapshot: not gzip-compressed JSON: ${(error as Error).message}`);
  }
  const format = (value as { format?: unknown } | null)?.format;
  if (format === 1) return parseWith(formatOneSchema, value, 'snapshot');
  if (format === 2) return parseWith(formatTwoSchema, value, 'snapshot');
  return fastSnapshot(value) ?? (parseWith(snapshotSchema, value, 'snapshot') as PolicySnapshot);
}

/**
 * A current-format snapshot checked by loops (document-fast-path.ts), or `undefined` at the first
 * doubt: snapshotSchema then decides, with its messages. Arrays are kept as they came.
 */
export function fastSnapshot(value: unknown): PolicySnapshot | undefined {
  if (!isPlain(value) || value.format !== SNAPSHOT_FORMAT || !isIntegerIn(value.version, 0, Number.MAX_SAFE_INTEGER))
    return undefined;
  const { version, destinations: documents, sources: entries } = value;
  const groups = fastSecurityGroupsSection(value.security_groups);
  if (!Array.isArray(documents) || !Array.isArray(entries) || groups === undefined) return undefined;
  const destinations: Destination[] = [];
  for (const document of documents) {
    const destination = fastDestinationDocument(document);
    if (destination === undefined) return undefined;
    destinations.push(destination);
  }
  const sources: SourceEntry[] = [];
  for (const entry of entries) {
    if (!Array.isArray(entry) || entry.length !== 3) return undefined;
    const [type, id, indexes] = entry;
    const listed = oneOf(LISTED_SOURCE_TYPES, type);
    if (listed === undefined || !isIdentifierString(id) || !Array.isArray(indexes) || indexes.length < 1)
      return undefined;
    if (!areIndexesBelow(indexes, destinations.length)) return undefined;
    sources.push([listed, id, indexes]);
  }
  return { format: SNAPSHOT_FORMAT, version, destinations, sources, security_groups: groups };
}

/**
 * The snapshot in the form the agent plans from (the body of GET /egress_policies). Policy ids are
 * not in the snapshot; each policy gets its destination's id, which is unique within its source (a
 * source has one policy per destination) and all the planner uses ids for (a stable rule order).
 */
export function snapshotToPolicyList(snapshot: PolicySnapshot): PoliciesWithGroups {
  const egress_policies = snapshot.sources.flatMap(([type, sourceId, indexes]) =>
    indexes.map((index) => {
      const destination = snapshot.destinations[index];
      if (!destination) throw new ValidationError(`snapshot: ${type} ${sourceId} points past the destinations`);
      return { id: destination.id, source: { type, id: sourceId }, destination };
    }),
  );
  return { total_egress_policies: egress_policies.length, egress_policies, security_groups: snapshot.security_groups };
}
