// Run Command: one SendCommand to every instance carrying the cell tag, or to named instances in
// calls of 50. Throttling is retried with jittered exponential backoff. SSM refuses a whole call that
// names one instance it cannot reach (terminated, or no longer registered: InvalidInstanceId), so such
// a call is split until the refused instances stand alone and are left out; the others are told.
// Other errors go back to the caller (and so to the stream's retries), once every call was tried.
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

/** SSM's refusal of a call naming an instance that is terminated, shutting down or not registered. */
const isInvalidInstance = (error: unknown): boolean => error instanceof Error && error.name === 'InvalidInstanceId';

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
    // instances carrying the cell tag. A call that fails does not keep the next from being made.
    let failure: unknown;
    for (let offset = 0; offset < cells.length; offset += MAX_INSTANCE_IDS) {
      try {
        await this.sendLeavingOutInvalid(minVersion, cells.slice(offset, offset + MAX_INSTANCE_IDS));
      } catch (error) {
        failure ??= error;
      }
    }
    if (failure !== undefined) throw failure;
  }

  /**
   * Sends to `ids`; when SSM refuses the call for an instance it cannot reach, sends to each half
   * instead, down to that instance alone, which is left out (the association does not reach it
   * either: it is gone, or its agent is). A few refused instances cost a few calls per chunk.
   */
  private async sendLeavingOutInvalid(minVersion: number, ids: readonly string[]): Promise<void> {
    try {
      await this.send(minVersion, { InstanceIds: [...ids] });
    } catch (error) {
      if (!isInvalidInstance(error)) throw error;
      if (ids.length === 1) return; // The refused instance, alone: left out.
      const half = Math.ceil(ids.length / 2);
      await this.sendLeavingOutInvalid(minVersion, ids.slice(0, half));
      await this.sendLeavingOutInvalid(minVersion, ids.slice(half));
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
