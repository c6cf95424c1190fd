// Local mode's stand-in for SSM Run Command: runs the agent on every local cell. Each cell has one
// worker: requests that arrive while it runs are coalesced into one more run; a failing cell is
// reported and retried with backoff while the others carry on.

import { backoffMs, sleep } from '../../core/store/dynamodb-io.js';
import type { CellCommander } from '../../lambdas/fanout/cell-commander.js';
import type { LocalCell } from './local-cells.js';

export interface AgentRunResult {
  readonly ok: boolean;
  /** The policy version the cell now enforces, when the agent said. */
  readonly version?: number;
  /** What the agent printed, for the log. */
  readonly output: string;
}

export type AgentRunner = (cell: LocalCell, minVersion: number) => Promise<AgentRunResult>;

export interface LocalDispatcherOptions {
  readonly cells: readonly LocalCell[];
  readonly runAgent: AgentRunner;
  readonly log?: (line: string) => void;
  /** Retries of a failing cell before it waits for the next change or periodic sync. @default 5 */
  readonly maxRetries?: number;
  /** @default jittered exponential backoff */
  readonly retryDelay?: (attempt: number) => Promise<void>;
}

interface Worker {
  readonly cell: LocalCell;
  pending: number | undefined;
  running: Promise<void> | undefined;
  failures: number;
}

export class LocalDispatcher implements CellCommander {
  private readonly workers: Worker[];
  private readonly log: (line: string) => void;

  constructor(private readonly options: LocalDispatcherOptions) {
    this.workers = options.cells.map((cell) => ({ cell, pending: undefined, running: undefined, failures: 0 }));
    this.log = options.log ?? ((line) => console.log(line));
  }

  /** Like SendCommand: returns once every cell has the request, not when they applied it. */
  async syncCells(minVersion: number): Promise<void> {
    for (const worker of this.workers) this.request(worker, minVersion);
  }

  /** Resolves when no cell has work left (for tests and shutdown). */
  async idle(): Promise<void> {
    while (this.workers.some((worker) => worker.running)) {
      await Promise.all(this.workers.map((worker) => worker.running));
    }
  }

  private request(worker: Worker, minVersion: number): void {
    worker.pending = Math.max(worker.pending ?? 0, minVersion);
    if (!worker.running) {
      worker.running = this.drain(worker).finally(() => {
        worker.running = undefined;
      });
    }
  }

  private async drain(worker: Worker): Promise<void> {
    while (worker.pending !== undefined) {
      const minVersion = worker.pending;
      worker.pending = undefined;
      const result = await this.options.runAgent(worker.cell, minVersion).catch(
        (error: unknown): AgentRunResult => ({
          ok: false,
          output: error instanceof Error ? error.message : String(error),
        }),
      );
      if (result.ok) {
        worker.failures = 0;
        this.log(
          `[${worker.cell.name}] applied policy version ${result.version ?? '?'}${result.output ? `: ${result.output}` : ''}`,
        );
        continue;
      }
      worker.failures += 1;
      const retrying = worker.failures <= (this.options.maxRetries ?? 5);
      this.log(
        `[${worker.cell.name}] agent failed (${worker.failures}×), ${retrying ? 'retrying' : 'giving up until the next change'}: ${result.output}`,
      );
      if (!retrying) {
        worker.failures = 0;
        continue;
      }
      await (this.options.retryDelay ?? ((attempt: number) => sleep(backoffMs(attempt + 3))))(worker.failures);
      worker.pending = Math.max(worker.pending ?? 0, minVersion);
    }
  }
}
