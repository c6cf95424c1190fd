import { describe, expect, it } from 'vitest';
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

describe('LocalDispatcher', () => {
  it('coalesces requests that arrive while a cell is busy into one more run at the newest version', async () => {
    const runs: [string, number][] = [];
    const gate = deferred();
    const dispatcher = new LocalDispatcher({
      cells,
      log: () => undefined,
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

  it('retries a failing cell while the others carry on, and reports it', async () => {
    const lines: string[] = [];
    let cell2Attempts = 0;
    const done: string[] = [];
    const dispatcher = new LocalDispatcher({
      cells,
      log: (line) => lines.push(line),
      maxRetries: 3,
      retryDelay: async () => undefined,
      runAgent: async (cell, version) => {
        if (cell.name === 'cell-2' && ++cell2Attempts < 3) return { ok: false, output: 'iptables-restore: locked' };
        done.push(cell.name);
        return { ok: true, version, output: '' };
      },
    });
    await dispatcher.syncCells(7);
    await dispatcher.idle();
    expect(done).toEqual(['cell-1', 'cell-2']);
    expect(cell2Attempts).toBe(3);
    expect(lines.filter((line) => line.includes('[cell-2] agent failed'))).toHaveLength(2);
    expect(lines).toContain('[cell-2] applied policy version 7');
  });

  it('gives up after the retry budget and runs again on the next request', async () => {
    let attempts = 0;
    const dispatcher = new LocalDispatcher({
      cells: [cells[0] as LocalCell],
      log: () => undefined,
      maxRetries: 2,
      retryDelay: async () => undefined,
      runAgent: async () => {
        attempts += 1;
        throw new Error('spawn failed');
      },
    });
    await dispatcher.syncCells(1);
    await dispatcher.idle();
    expect(attempts).toBe(3);
    await dispatcher.syncCells(2);
    await dispatcher.idle();
    expect(attempts).toBe(6);
  });
});
