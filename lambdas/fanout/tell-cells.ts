// Telling the cells, counted when it fails: a SendCommand refused for good (anything but throttling,
// or throttling past the commander's retries) is the SSM failure the dashboard shows. The error still
// fails the run, so it counts in the Errors alarm too.
import type { CellCommander } from './cell-commander.js';
import type { FanoutMetrics, FanoutRun } from './fanout-metrics.js';

export async function tellCells(
  deps: { readonly commander: CellCommander; readonly metrics: FanoutMetrics },
  trigger: FanoutRun['trigger'],
  minVersion: number,
  cells?: readonly string[],
): Promise<void> {
  try {
    await deps.commander.syncCells(minVersion, cells);
  } catch (error) {
    deps.metrics.commandFailed(trigger);
    throw error;
  }
}
