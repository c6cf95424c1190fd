// Local mode's stand-in for SSM Run Command: runs the agent on every local cell. Each cell has one
// worker: requests that arrive while it runs are coalesced into one more run; a failing cell is
// reported and retried with backoff while the others carry on.
import type { Verify } from '../../agent/recorded-sync.js';
import { jsonLineLog, type Log } from '../../core/log.js';
import { type Backoff, exponentialBackoff, retry, type Sleep } from '../../core/retry.js';
import type { CellCommander } from '../../lambdas/fanout/cell-commander.js';
import { LOCAL_SERVICE } from '../local-service.js';
import type { LocalCell } from './local-cells.js';

/** Waits of 160–320 ms after a cell's first failure, doubling up to 0.5–1 s. */
export const CELL_RETRY_BACKOFF = { baseMs: 320, capMs: 1_000, jitter: 'equal' } as const;

export interface AgentRunResult {
  readonly ok: boolean;
  /** The policy version the cell now enforces, when the agent said. */
  readonly version?: number;
  /** What the agent printed, for the log. */
  readonly output: string;
}

/** `verify`: how much of the kernel the run reads back (agent/recorded-sync.ts); absent, the agent's default. */
export type AgentRunner = (cell: LocalCell, minVersion: number, verify?: Verify) => Promise<AgentRunResult>;

/** A cell's pending request: the highest MinVersion asked, and full verify if any request asked for it. */
interface Pending {
  minVersion: number;
  verify: Verify;
}

export interface LocalDispatcherOptions {
  readonly cells: readonly LocalCell[];
  readonly runAgent: AgentRunner;
  /** @default JSON lines of local mode */
  readonly log?: Log;
  /** Retries of a failing cell before it waits for the next change or periodic sync. @default 5 */
  readonly maxRetries?: number;
  /** @default exponentialBackoff(CELL_RETRY_BACKOFF) */
  readonly backoff?: Backoff;
  /** For tests. @default a timer */
  readonly sleep?: Sleep;
}

interface Worker {
  readonly cell: LocalCell;
  pending: Pending | undefined;
  running: Promise<void> | undefined;
}

/** An agent run that did not succeed, with what the agent printed. */
class AgentRunFailed extends Error {
  override readonly name = 'AgentRunFailed';
}

export class LocalDispatcher implements CellCommander {
  private readonly workers: Worker[];
  private readonly log: Log;

  constructor(private readonly options: LocalDispatcherOptions) {
    this.workers = options.cells.map((cell) => ({ cell, pending: undefined, running: undefined }));
    this.log = options.log ?? jsonLineLog({ service: LOCAL_SERVICE });
  }

  /**
   * Like SendCommand: returns once every cell has the request, not when they applied it. `full`: as the
   * scheduled association, every rule and set member is read back and repaired.
   */
  async syncCells(minVersion: number, cells?: readonly string[], verify: Verify = 'cheap'): Promise<void> {
    for (const worker of this.workers) {
      if (cells === undefined || cells.includes(worker.cell.name)) this.request(worker, { minVersion, verify });
    }
  }

  /**
   * One cell only, as its own watcher does on a cell (its containers file changed). Coalesced with
   * whatever else that cell has pending; an unknown name is an error (a caller's bug).
   */
  syncCell(name: string, minVersion: number): void {
    const worker = this.workers.find((candidate) => candidate.cell.name === name);
    if (!worker) throw new Error(`no local cell named ${JSON.stringify(name)}`);
    this.request(worker, { minVersion, verify: 'cheap' });
  }

  /** Resolves when no cell has work left (for tests and shutdown). */
  async idle(): Promise<void> {
    while (this.workers.some((worker) => worker.running)) {
      await Promise.all(this.workers.map((worker) => worker.running));
    }
  }

  private request(worker: Worker, wanted: Pending): void {
    worker.pending = merge(worker.pending, wanted);
    if (!worker.running) {
      worker.running = this.drain(worker).finally(() => {
        worker.running = undefined;
      });
    }
  }

  /** Takes the pending request, or undefined when there is none. */
  private take(worker: Worker): Pending | undefined {
    const pending = worker.pending;
    worker.pending = undefined;
    return pending;
  }

  private async drain(worker: Worker): Promise<void> {
    const cell = worker.cell.name;
    for (let taken = this.take(worker); taken !== undefined; taken = this.take(worker)) {
      let wanted = taken;
      await retry(
        async () => {
          // A request that arrived during the pause joins the retry.
          wanted = merge(wanted, this.take(worker));
          await this.runOnce(worker.cell, wanted);
        },
        {
          attempts: (this.options.maxRetries ?? 5) + 1,
          backoff: this.options.backoff ?? exponentialBackoff(CELL_RETRY_BACKOFF),
          ...(this.options.sleep ? { sleep: this.options.sleep } : {}),
          onRetry: (error, failures) =>
            this.log.warn('agent failed, retrying', { cell, failures, output: outputOf(error) }),
        },
      ).catch((error: unknown) => {
        // The next change or periodic sync runs it again.
        this.log.error('agent failed, giving up until the next change', {
          cell,
          failures: (this.options.maxRetries ?? 5) + 1,
          output: outputOf(error),
        });
      });
    }
  }

  private async runOnce(cell: LocalCell, wanted: Pending): Promise<void> {
    const result = await this.options
      .runAgent(cell, wanted.minVersion, wanted.verify)
      .catch((error: unknown): AgentRunResult => ({ ok: false, output: outputOf(error) }));
    if (!result.ok) throw new AgentRunFailed(result.output);
    this.log.info('applied policy version', {
      cell: cell.name,
      ...(result.version === undefined ? {} : { version: result.version }),
      ...(result.output ? { output: result.output } : {}),
    });
  }
}

function merge(a: Pending | undefined, b: Pending | undefined): Pending {
  if (a === undefined || b === undefined) return a ?? b ?? { minVersion: 0, verify: 'cheap' };
  return {
    minVersion: Math.max(a.minVersion, b.minVersion),
    verify: a.verify === 'full' || b.verify === 'full' ? 'full' : 'cheap',
  };
}

function outputOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
