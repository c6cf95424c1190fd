// Run Command: one SendCommand to every instance carrying the cell tag. Throttling is retried with
// jittered exponential backoff; other errors go back to the caller (and so to the stream's retries).
import { SendCommandCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { backoffMs, sleep } from '../../core/store/dynamodb-io.js';
import type { CellCommander } from './cell-commander.js';
import { RUN_LIMIT_DEFAULTS } from './run-limits.js';

export interface SsmCommanderOptions {
  readonly client: SSMClient;
  readonly documentName: string;
  readonly tagKey: string;
  readonly tagValue: string;
  /** @default '50%' (RUN_LIMIT_DEFAULTS) */
  readonly maxConcurrency?: string;
  /** @default '100%' (RUN_LIMIT_DEFAULTS: every cell is told, whatever others fail) */
  readonly maxErrors?: string;
  /** @default 6 */
  readonly maxAttempts?: number;
  /** For tests. @default the jittered backoff of the store */
  readonly delay?: (attempt: number) => Promise<void>;
}

const THROTTLING = new Set(['ThrottlingException', 'TooManyRequestsException', 'RequestLimitExceeded']);

export function isThrottling(error: unknown): boolean {
  return THROTTLING.has((error as { name?: string }).name ?? '');
}

export class SsmCommander implements CellCommander {
  constructor(private readonly options: SsmCommanderOptions) {}

  async syncCells(minVersion: number): Promise<void> {
    const maxAttempts = this.options.maxAttempts ?? 6;
    const delay = this.options.delay ?? ((attempt: number) => sleep(backoffMs(attempt + 2)));
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.options.client.send(
          new SendCommandCommand({
            DocumentName: this.options.documentName,
            Targets: [{ Key: `tag:${this.options.tagKey}`, Values: [this.options.tagValue] }],
            Parameters: { MinVersion: [String(minVersion)] },
            MaxConcurrency: this.options.maxConcurrency ?? RUN_LIMIT_DEFAULTS.maxConcurrency,
            MaxErrors: this.options.maxErrors ?? RUN_LIMIT_DEFAULTS.maxErrors,
            TimeoutSeconds: 600,
            Comment: `dynamic-egress: converge to policy version >= ${minVersion}`,
          }),
        );
        return;
      } catch (error) {
        if (!isThrottling(error) || attempt >= maxAttempts) throw error;
        await delay(attempt);
      }
    }
  }
}
