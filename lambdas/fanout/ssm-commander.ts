// Run Command: one SendCommand to every instance carrying the cell tag. Throttling is retried with
// jittered exponential backoff; other errors go back to the caller (and so to the stream's retries).
import { SendCommandCommand, type SSMClient, type Target } from '@aws-sdk/client-ssm';
import { type Backoff, exponentialBackoff, retry, type Sleep } from '../../core/retry.js';
import type { CellCommander } from './cell-commander.js';
import { RUN_LIMIT_DEFAULTS } from './run-limits.js';

/**
 * Waits of 80–160 ms after the first throttled call, doubling up to 0.5–1 s: the five waits of six
 * attempts add up to 1.6–3.1 s, well inside the function's timeout, while SSM's request rate recovers.
 */
export const THROTTLING_BACKOFF = { baseMs: 160, capMs: 1_000, jitter: 'equal' } as const;

export interface SsmCommanderOptions {
  readonly client: SSMClient;
  readonly documentName: string;
  readonly tagKey: string;
  readonly tagValue: string;
  /** @default '50%' (RUN_LIMIT_DEFAULTS) */
  readonly maxConcurrency?: string;
  /** @default '100%' (RUN_LIMIT_DEFAULTS: every cell is told, whatever others fail) */
  readonly maxErrors?: string;
  /** SendCommand calls in all, the first included. @default 6 */
  readonly maxAttempts?: number;
  /** @default exponentialBackoff(THROTTLING_BACKOFF) */
  readonly backoff?: Backoff;
  /** For tests. @default a timer */
  readonly sleep?: Sleep;
}

/** SendCommand's limit on InstanceIds per call. */
export const MAX_INSTANCE_IDS = 50;

const THROTTLING = new Set(['ThrottlingException', 'TooManyRequestsException', 'RequestLimitExceeded']);

export function isThrottling(error: unknown): boolean {
  return error instanceof Error && THROTTLING.has(error.name);
}

export class SsmCommander implements CellCommander {
  constructor(private readonly options: SsmCommanderOptions) {}

  async syncCells(minVersion: number, cells?: readonly string[]): Promise<void> {
    if (cells === undefined) {
      await this.send(minVersion, {
        Targets: [{ Key: `tag:${this.options.tagKey}`, Values: [this.options.tagValue] }],
      });
      return;
    }
    // A cell's name is its instance id (the sync document passes it); the role still only reaches
    // instances carrying the cell tag.
    for (let offset = 0; offset < cells.length; offset += MAX_INSTANCE_IDS) {
      await this.send(minVersion, { InstanceIds: cells.slice(offset, offset + MAX_INSTANCE_IDS) });
    }
  }

  private async send(
    minVersion: number,
    target: { readonly Targets: Target[] } | { readonly InstanceIds: string[] },
  ): Promise<void> {
    const input = {
      DocumentName: this.options.documentName,
      ...target,
      Parameters: { MinVersion: [String(minVersion)] },
      MaxConcurrency: this.options.maxConcurrency ?? RUN_LIMIT_DEFAULTS.maxConcurrency,
      MaxErrors: this.options.maxErrors ?? RUN_LIMIT_DEFAULTS.maxErrors,
      TimeoutSeconds: 600,
      Comment: `dynamic-egress: converge to policy version >= ${minVersion}`,
    };
    // A fresh command per attempt: a command object carries its own middleware once sent.
    await retry(() => this.options.client.send(new SendCommandCommand(input)), {
      attempts: this.options.maxAttempts ?? 6,
      backoff: this.options.backoff ?? exponentialBackoff(THROTTLING_BACKOFF),
      retryable: isThrottling,
      ...(this.options.sleep ? { sleep: this.options.sleep } : {}),
    });
  }
}
