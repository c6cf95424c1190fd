// What a cell's desired state is, whichever way it was read (a whole snapshot, dynamodb.ts, or the
// cell's own shards, shards.ts), and the refusal to go back to an older one.
import { ValidationError } from '../../core/domain/errors.js';
import type { PolicySnapshot } from '../../core/domain/snapshot.js';

export interface DesiredSnapshot {
  readonly version: number;
  /** Decoded on first use: a cached snapshot the kernel already holds is never parsed. */
  readonly snapshot: PolicySnapshot;
  readonly bytes: Buffer;
  readonly sha256: string;
  /** Where it came from: 'table' (read now), 'cache' (unchanged version) or 'empty' (nothing published yet). */
  readonly origin: 'table' | 'cache' | 'empty';
  /** The epoch its version counts in; absent for the empty state and pointers older than epochs. */
  readonly epoch?: string;
  /** `shards`: `bytes` are the cell's own shards (shards.ts), not a whole snapshot. */
  readonly layout?: 'shards';
  /** What the kernel's record compares; absent: the version and checksum. */
  readonly digest?: string;
}

/** What this cell last applied, as recorded on the cell. */
export interface AppliedVersion {
  readonly version: number;
  readonly sha256: string;
  readonly epoch?: string;
  /** `shards` when its cache holds the cell's shards rather than a whole snapshot. */
  readonly layout?: 'shards';
}

/**
 * The table offers only a version older than the one this cell applied, and the cell's own copy of
 * that one is missing or corrupt. Applying the older one would roll the cell back, so the agent
 * refuses and the rules in force stay; a ValidationError, so the CLI reports it like any other
 * refused input (exit 1, "rules unchanged").
 */
export class OlderSnapshotError extends ValidationError {
  constructor(
    readonly offered: number,
    readonly applied: number,
  ) {
    super(
      `refusing policy version ${offered}: this cell already applied version ${applied} and has no usable copy of it; the rules in force are kept`,
    );
  }
}
