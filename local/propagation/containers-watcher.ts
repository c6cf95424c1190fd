// Local mode's stand-in for the cells' systemd path unit (lib/cell-units.ts): a change to a local
// cell's containers file (a container created or removed) syncs that cell at once, so a new
// container gets its rules without a command and a removed one loses them.
//
// It watches the file's folder, not the file: a writer that replaces the file by rename (as atomic
// writers do) leaves a watch on the old inode behind. Events are gathered for a few tens of ms, from
// the first one (not reset by later ones), so a burst of writes is one sync and a file that never
// stops changing still syncs every `debounceMs`.
import { type FSWatcher, watch } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Log } from '../../core/log.js';
import type { LocalCell } from '../cells/local-cells.js';

/** How long events are gathered before the cell syncs. */
export const CONTAINERS_DEBOUNCE_MS = 30;

export interface ContainersWatcherOptions {
  readonly cells: readonly LocalCell[];
  /** Called once per gathered burst of changes to that cell's file. */
  readonly onChange: (cell: LocalCell) => void;
  /** @default CONTAINERS_DEBOUNCE_MS */
  readonly debounceMs?: number;
  readonly log: Log;
}

export interface ContainersWatcher {
  stop(): void;
}

export function watchContainersFiles(options: ContainersWatcherOptions): ContainersWatcher {
  const debounceMs = options.debounceMs ?? CONTAINERS_DEBOUNCE_MS;
  const timers = new Map<LocalCell, NodeJS.Timeout>();
  const schedule = (cell: LocalCell): void => {
    if (timers.has(cell)) return;
    const timer = setTimeout(() => {
      timers.delete(cell);
      options.onChange(cell);
    }, debounceMs);
    timers.set(cell, timer);
  };

  const byFolder = new Map<string, LocalCell[]>();
  for (const cell of options.cells) {
    const folder = dirname(cell.containers);
    byFolder.set(folder, [...(byFolder.get(folder) ?? []), cell]);
  }
  const watchers: FSWatcher[] = [];
  for (const [folder, cells] of byFolder) {
    try {
      const watcher = watch(folder, { persistent: false }, (_event, filename) => {
        // Without a name (possible on some platforms) every cell of the folder syncs.
        for (const cell of cells) if (!filename || filename === basename(cell.containers)) schedule(cell);
      });
      watcher.on('error', (error) =>
        options.log.error('containers watcher failed; the cells sync on commands and schedule only', {
          folder,
          error: error.message,
        }),
      );
      watchers.push(watcher);
    } catch (error) {
      // A missing folder must not keep local mode from starting; those cells still sync on schedule.
      options.log.warn('cannot watch containers files; the cells sync on commands and schedule only', {
        folder,
        cells: cells.map((cell) => cell.name),
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }
  return {
    stop: () => {
      for (const watcher of watchers) watcher.close();
      for (const timer of timers.values()) clearTimeout(timer);
      timers.clear();
    },
  };
}
