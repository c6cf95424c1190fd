// Creating new sets while the rest is planned. Set names are content-addressed and nothing refers to
// a new set until the iptables transaction, so creating one early changes no traffic; `ipset
// restore` then runs in its own processes beside the planning instead of after it. Only hash:net and
// hash:net,port sets the kernel does not have yet (their names are known from the sizes read before
// planning); list:sets, repairs and everything else take the usual path (diffSets) once the plan is done.
import { entryCount, type IpSet } from '../core/plan/model.js';
import { ApplyError } from './errors.js';
import { runRestore, SETS_PER_RESTORE } from './ipsets.js';
import { renderSetCreate } from './render.js';
import type { CommandRunner } from './runner.js';

/** Lines one early `ipset restore` gets before it starts: big enough to be worth a process. */
const LINES_PER_EARLY_RESTORE = 16_384;

export class EarlySets {
  private batch: string[] = [];
  private batchSets = 0;
  private readonly runs: Promise<ApplyError | undefined>[] = [];
  /** Every `ipset restore` line sent, in order: what a sync reports as run before the transaction. */
  readonly lines: string[] = [];
  /** Sets handed to a restore, whether or not it succeeded (so a failure can remove them), by size. */
  private readonly createdSizes = new Map<string, number>();

  private restoring = false;

  /**
   * `onFirstRestore`: called as the first restore starts, to stop a growth of the kernel's table of
   * sets (set-table.ts), which from then on would only hold up the kernel the sets are created in.
   */
  constructor(
    private readonly runner: CommandRunner,
    private readonly kernelSets: ReadonlySet<string>,
    private readonly onFirstRestore?: () => void,
  ) {}

  /** PlanHooks.onSet: a new set of addresses is queued, and a full batch starts restoring. */
  readonly onSet = (set: IpSet): void => {
    if (set.type === 'list:set' || this.kernelSets.has(set.name) || this.createdSizes.has(set.name)) return;
    for (const line of renderSetCreate(set)) {
      this.batch.push(line);
      this.lines.push(line);
    }
    this.batchSets += 1;
    this.createdSizes.set(set.name, entryCount(set));
    if (this.batch.length >= LINES_PER_EARLY_RESTORE || this.batchSets >= SETS_PER_RESTORE) this.flush();
  };

  /** The names of the sets handed to a restore, in the order they were. */
  get created(): string[] {
    return [...this.createdSizes.keys()];
  }

  /** Waits for every early restore; throws the first failure. Returns the sets created, by size. */
  async done(): Promise<ReadonlyMap<string, number>> {
    this.flush();
    const [failure] = (await Promise.all(this.runs)).filter((each) => each !== undefined);
    if (failure !== undefined) throw failure;
    return this.createdSizes;
  }

  /** Starts restoring the sets still queued (the plan is complete: no batch will fill up now). */
  flush(): void {
    if (this.batch.length === 0) return;
    const input = `${this.batch.join('\n')}\n`;
    this.batch = [];
    this.batchSets = 0;
    if (!this.restoring) this.onFirstRestore?.();
    this.restoring = true;
    // Started now, awaited in done(): until then a runner that throws must not go unhandled.
    this.runs.push(
      runRestore(this.runner, input).catch((error: unknown) => {
        const message = `ipset restore failed: ${error instanceof Error ? error.message : String(error)}`;
        return new ApplyError(message, 'ipset', message);
      }),
    );
  }
}
