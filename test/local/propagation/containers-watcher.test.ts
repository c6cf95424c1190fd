// The watcher on local cells' containers files: sees in-place writes and rename-replaces of the file
// (it watches the folder), ignores other files, gathers a burst into one call, and stops.
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLog } from '../../../core/log.js';
import type { LocalCell } from '../../../local/cells/local-cells.js';
import { type ContainersWatcher, watchContainersFiles } from '../../../local/propagation/containers-watcher.js';

const settle = (ms = 150) => new Promise((resolve) => setTimeout(resolve, ms));

describe('watchContainersFiles', () => {
  let dir: string;
  let cells: LocalCell[];
  let calls: string[];
  let watcher: ContainersWatcher | undefined;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'egress-watch-'));
    mkdirSync(join(dir, 'b'));
    cells = [
      { name: 'cell-1', netns: 'ns1', containers: join(dir, 'store.json') },
      { name: 'cell-2', netns: 'ns2', containers: join(dir, 'other.json') },
      { name: 'cell-3', netns: 'ns3', containers: join(dir, 'b', 'store.json') },
    ];
    for (const cell of cells) writeFileSync(cell.containers, '{}');
    calls = [];
    watcher = watchContainersFiles({ cells, log: silentLog, onChange: (cell) => calls.push(cell.name) });
  });

  afterEach(() => {
    watcher?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('calls for the cell whose file was written in place, and only that one', async () => {
    writeFileSync(join(dir, 'store.json'), '{"a":{}}');
    await settle();
    expect(calls).toEqual(['cell-1']);
  });

  it('sees every rename over the file (an atomic writer), not only the first, in another folder too', async () => {
    for (const content of ['{"b":{}}', '{"c":{}}']) {
      writeFileSync(join(dir, 'b', 'store.json.tmp'), content);
      renameSync(join(dir, 'b', 'store.json.tmp'), join(dir, 'b', 'store.json'));
      await settle();
    }
    expect(calls).toEqual(['cell-3', 'cell-3']);
  });

  it('ignores other files of the folder', async () => {
    writeFileSync(join(dir, 'unrelated.json'), '{}');
    await settle();
    expect(calls).toEqual([]);
  });

  it('gathers a burst of writes into one call', async () => {
    watcher?.stop();
    // A wide window, so a loaded machine's slow timers still fall inside it.
    watcher = watchContainersFiles({
      cells,
      log: silentLog,
      debounceMs: 250,
      onChange: (cell) => calls.push(cell.name),
    });
    for (let i = 0; i < 4; i++) {
      writeFileSync(join(dir, 'other.json'), `{"n":${i}}`);
      await settle(10);
    }
    await settle(400);
    expect(calls).toEqual(['cell-2']);
  });

  it('calls nothing once stopped, even for a change it saw just before', async () => {
    watcher?.stop();
    const slow = watchContainersFiles({
      cells,
      log: silentLog,
      debounceMs: 200,
      onChange: (cell) => calls.push(cell.name),
    });
    writeFileSync(join(dir, 'store.json'), '{"a":{}}');
    // Seen (its timer runs), not yet called.
    await settle(50);
    slow.stop();
    writeFileSync(join(dir, 'other.json'), '{"a":{}}');
    await settle(300);
    expect(calls).toEqual([]);
  });

  it('starts without a watch on a folder that does not exist, and logs it', () => {
    const warnings: string[] = [];
    const log = { ...silentLog, warn: (message: string) => warnings.push(message) };
    const missing = watchContainersFiles({
      cells: [{ name: 'gone', containers: join(dir, 'nope', 'store.json') }],
      log,
      onChange: () => undefined,
    });
    missing.stop();
    expect(warnings).toEqual(['cannot watch containers files; the cells sync on commands and schedule only']);
  });
});
