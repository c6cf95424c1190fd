// The compact desired-state document cells read: every policy at one policy version, with each
// destination stored once and policies as tuples pointing at it. The fan-out writes it once per
// change; every cell reads it (or only its small pointer, when nothing changed).
import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import * as z from 'zod';
import { ValidationError } from './errors.js';
import { destinationDocumentSchema, type EgressPolicyList, SOURCE_TYPES } from './schemas.js';
import type { Destination, EgressPolicy } from './types.js';
import { parseWith } from './validation.js';

export const SNAPSHOT_FORMAT = 1;

/** [policy id, source type, source id, index into destinations] */
type PolicyTuple = [string, (typeof SOURCE_TYPES)[number], string, number];

export interface PolicySnapshot {
  readonly format: typeof SNAPSHOT_FORMAT;
  /** The policy version this state is the result of. */
  readonly version: number;
  readonly destinations: Destination[];
  readonly policies: PolicyTuple[];
}

const snapshotSchema = z
  .object({
    format: z.literal(SNAPSHOT_FORMAT, { error: `must be ${SNAPSHOT_FORMAT} (this agent's snapshot format)` }),
    version: z.number().int().min(0),
    destinations: z.array(destinationDocumentSchema),
    policies: z.array(z.tuple([z.string().min(1), z.enum(SOURCE_TYPES), z.string().min(1), z.number().int().min(0)])),
  })
  .superRefine((snapshot, ctx) => {
    snapshot.policies.forEach((policy, index) => {
      if (policy[3] >= snapshot.destinations.length) {
        ctx.addIssue({ code: 'custom', path: ['policies', index, 3], message: 'points past the destinations' });
      }
    });
  });

export function buildSnapshot(version: number, policies: readonly EgressPolicy[]): PolicySnapshot {
  const indexById = new Map<string, number>();
  const destinations: Destination[] = [];
  const tuples = policies.map((policy): PolicyTuple => {
    let index = indexById.get(policy.destination.id);
    if (index === undefined) {
      index = destinations.push(policy.destination) - 1;
      indexById.set(policy.destination.id, index);
    }
    return [policy.id, policy.source.type, policy.source.id, index];
  });
  return { format: SNAPSHOT_FORMAT, version, destinations, policies: tuples };
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
  return parseWith(snapshotSchema, value, 'snapshot') as PolicySnapshot;
}

/** The snapshot as the body of GET /egress_policies, the form the agent plans from. */
export function snapshotToPolicyList(snapshot: PolicySnapshot): EgressPolicyList {
  const egress_policies = snapshot.policies.map(([id, type, sourceId, index]) => {
    const destination = snapshot.destinations[index];
    if (!destination) throw new ValidationError(`snapshot: policy ${id} points past the destinations`);
    return { id, source: { type, id: sourceId }, destination };
  });
  return { total_egress_policies: egress_policies.length, egress_policies };
}
