// The scheduled republish: an EventBridge rule invokes the fan-out every few minutes. The stream
// mapping starts at LATEST and gives up on a batch after bounded retries, so a snapshot that failed
// to publish would otherwise stay stale until the next policy write. This run publishes it; when the
// pointer is already current it costs two small reads and tells nobody.
import type { ScheduledEvent } from 'aws-lambda';
import type { PolicyStore } from '../domain/store.js';
import type { DynamoDbSnapshotStore } from '../store/snapshot-store.js';
import type { CellCommander } from './cell-commander.js';
import { errorText, jsonLog } from './fanout.js';
import { publishSnapshot } from './snapshot-publisher.js';

export interface RepublishDependencies {
  readonly policies: PolicyStore;
  readonly snapshots: DynamoDbSnapshotStore;
  readonly commander: CellCommander;
  readonly log?: (entry: Record<string, unknown>) => void;
}

export interface RepublishResult {
  /** The version now current for cells. */
  readonly version: number;
  /** True when this run wrote the snapshot (it was missing or stale). */
  readonly written: boolean;
  /** True when the cells were told to converge (only after this run wrote the snapshot). */
  readonly cellsTold: boolean;
}

export type RepublishHandler = (event: ScheduledEvent) => Promise<RepublishResult>;

/** EventBridge's scheduled event (`rate(...)`/`cron(...)` rules with the default input). */
export function isScheduledEvent(event: unknown): event is ScheduledEvent {
  const candidate = event as Partial<ScheduledEvent> | null;
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    candidate.source === 'aws.events' &&
    candidate['detail-type'] === 'Scheduled Event'
  );
}

/**
 * Publishes the current snapshot if it is missing or stale, and only then tells the cells: a current
 * pointer was published by a stream invocation, which also sends (or retries) its own command, and
 * the resync association converges cells that missed one. Failures are logged and rethrown so that
 * they count in the Errors alarm.
 */
export function createRepublishHandler(deps: RepublishDependencies): RepublishHandler {
  const log = deps.log ?? jsonLog;
  return async (event) => {
    try {
      const published = await publishSnapshot(deps.policies, deps.snapshots);
      if (published.written) await deps.commander.syncCells(published.version);
      const result = { version: published.version, written: published.written, cellsTold: published.written };
      // Written: the stream path had not published this version (failed, given up, or still running).
      log({
        level: 'INFO',
        message: published.written
          ? 'scheduled republish published the snapshot and told the cells'
          : 'scheduled republish: snapshot already current',
        scheduledAt: event.time,
        ...result,
      });
      return result;
    } catch (error) {
      log({ level: 'ERROR', message: 'scheduled republish failed', scheduledAt: event.time, error: errorText(error) });
      throw error;
    }
  };
}
