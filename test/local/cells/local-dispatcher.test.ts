import { describe, expect, it } from 'vitest';
import { jsonLineLog, silentLog } from '../../../core/log.js';
import type { LocalCell } from '../../../local/cells/local-cells.js';
import { type AgentRunResult, LocalDispatcher } from '../../../local/cells/local-dispatcher.js';

const cells: LocalCell[] = [
  { name: 'cell-1', netns: 'ns1', containers: '/c1.json' },
  { name: 'cell-2', netns: 'ns2', containers: '/c2.json' },
];

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = (): void => undefined;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** The dispatcher's log lines, without the two keys every line has (time and service). */
function capturedLog() {
  const entries: Record<string, unknown>[] = [];
  const log = jsonLineLog({
    service: 'test',
    level: 'DEBUG',
    write: (line) => {
      const { timestamp: _timestamp, service: _service, ...entry } = JSON.parse(line);
      entries.push(entry);
    },
  });
  return { entries, log };
}

describe('LocalDispatcher', () => {
  it('coalesces requests that arrive while a cell is busy into one more run at the newest version', async () => {
    const runs: [string, number][] = [];
    const gate = deferred();
    const dispatcher = new LocalDispatcher({
      cells,
      log: silentLog,
      runAgent: async (cell, version): Promise<AgentRunResult> => {
        runs.push([cell.name, version]);
        if (runs.length <= 2) await gate.promise;
        return { ok: true, version, output: '' };
      },
    });
    await dispatcher.syncCells(1);
    await dispatcher.syncCells(2);
    await dispatcher.syncCells(3);
    gate.resolve();
    await dispatcher.idle();
    expect(runs).toEqual([
      ['cell-1', 1],
      ['cell-2', 1],
      ['cell-1', 3],
      ['cell-2', 3],
    ]);
  });

  it('tells only the cells named, like SendCommand by instance ids, and nobody for an empty list', async () => {
    const runs: string[] = [];
    const dispatcher = new LocalDispatcher({
      cells,
      log: silentLog,
      runAgent: async (cell, version): Promise<AgentRunResult> => {
        runs.push(cell.name);
        return { ok: true, version, output: '' };
      },
    });
    await dispatcher.syncCells(1, ['cell-2']);
    await dispatcher.idle();
    await dispatcher.syncCells(2, []);
    await dispatcher.idle();
    expect(runs).toEqual(['cell-2']);
  });

  it('runs a full verify when any coalesced request asked for one, and cheap otherwise', async () => {
    const runs: [string, number, string | undefined][] = [];
    const gate = deferred();
    const dispatcher = new LocalDispatcher({
      cells: cells.slice(0, 1),
      log: silentLog,
      runAgent: async (cell, version, verify): Promise<AgentRunResult> => {
        runs.push([cell.name, version, verify]);
        if (runs.length === 1) await gate.promise;
        return { ok: true, version, output: '' };
      },
    });
    await dispatcher.syncCells(1);
    await dispatcher.syncCells(0, undefined, 'full');
    dispatcher.syncCell('cell-1', 0);
    gate.resolve();
    await dispatcher.idle();
    dispatcher.syncCell('cell-1', 0);
    await dispatcher.idle();
    expect(runs).toEqual([
      ['cell-1', 1, 'cheap'],
      ['cell-1', 0, 'full'],
      ['cell-1', 0, 'cheap'],
    ]);
  });

  it('retries a failing cell while the others carry on, and reports it', async () => {
    const { entries, log } = capturedLog();
    let cell2Attempts = 0;
    const done: string[] = [];
    const waits: number[] = [];
    const dispatcher = new LocalDispatcher({
      cells,
      log,
      maxRetries: 3,
      backoff: (attempt) => attempt * 100,
      sleep: async (ms) => {
        waits.push(ms);
      },
      runAgent: async (cell, version) => {
        if (cell.name === 'cell-2' && ++cell2Attempts < 3) return { ok: false, output: 'iptables-restore: locked' };
        done.push(cell.name);
        return { ok: true, version, output: cell.name === 'cell-1' ? 'rules: 4' : '' };
      },
    });
    await dispatcher.syncCells(7);
    await dispatcher.idle();
    expect(done).toEqual(['cell-1', 'cell-2']);
    expect(cell2Attempts).toBe(3);
    expect(waits).toEqual([100, 200]);
    expect(entries.filter((entry) => entry.cell === 'cell-2')).toEqual([
      {
        level: 'WARN',
        message: 'agent failed, retrying',
        cell: 'cell-2',
        failures: 1,
        output: 'iptables-restore: locked',
      },
      {
        level: 'WARN',
        message: 'agent failed, retrying',
        cell: 'cell-2',
        failures: 2,
        output: 'iptables-restore: locked',
      },
      { level: 'INFO', message: 'applied policy version', cell: 'cell-2', version: 7 },
    ]);
    expect(entries).toContainEqual({
      level: 'INFO',
      message: 'applied policy version',
      cell: 'cell-1',
      version: 7,
      output: 'rules: 4',
    });
  });

  it('gives up after the retry budget, says so, and runs again on the next request', async () => {
    const { entries, log } = capturedLog();
    let attempts = 0;
    const dispatcher = new LocalDispatcher({
      cells: [cells[0] as LocalCell],
      log,
      maxRetries: 2,
      sleep: async () => undefined,
      runAgent: async () => {
        attempts += 1;
        throw new Error('spawn failed');
      },
    });
    await dispatcher.syncCells(1);
    await dispatcher.idle();
    expect(attempts).toBe(3);
    expect(entries.at(-1)).toEqual({
      level: 'ERROR',
      message: 'agent failed, giving up until the next change',
      cell: 'cell-1',
      failures: 3,
      output: 'spawn failed',
    });
    await dispatcher.syncCells(2);
    await dispatcher.idle();
    expect(attempts).toBe(6);
  });

  it('folds a request that arrives during a retry pause into the retry', async () => {
    const runs: number[] = [];
    let dispatcher: LocalDispatcher | undefined;
    dispatcher = new LocalDispatcher({
      cells: [cells[0] as LocalCell],
      log: silentLog,
      sleep: async () => {
        await dispatcher?.syncCells(9);
      },
      runAgent: async (_cell, version) => {
        runs.push(version);
        return runs.length === 1 ? { ok: false, output: 'locked' } : { ok: true, version, output: '' };
      },
    });
    await dispatcher.syncCells(4);
    await dispatcher.idle();
    expect(runs).toEqual([4, 9]);
  });

  it('syncs one cell when its containers file changed, coalesced with what that cell has pending', async () => {
    const runs: [string, number][] = [];
    const gate = deferred();
    const dispatcher = new LocalDispatcher({
      cells,
      log: silentLog,
      runAgent: async (cell, version): Promise<AgentRunResult> => {
        runs.push([cell.name, version]);
        if (runs.length === 1) await gate.promise;
        return { ok: true, version, output: '' };
      },
    });
    dispatcher.syncCell('cell-2', 0);
    // While cell-2 runs: a command for every cell, then another file change on cell-2.
    await dispatcher.syncCells(5);
    dispatcher.syncCell('cell-2', 0);
    gate.resolve();
    await dispatcher.idle();
    expect(runs).toEqual([
      ['cell-2', 0],
      ['cell-1', 5],
      ['cell-2', 5],
    ]);
    expect(() => dispatcher.syncCell('cell-9', 0)).toThrow('no local cell named "cell-9"');
  });
});
