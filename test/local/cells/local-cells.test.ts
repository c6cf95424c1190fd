// EGRESS_LOCAL_CELLS: a cell may name a "log" file for its refused connections.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLog } from '../../../core/log.js';
import { loggingCells, startCellLogging } from '../../../local/cells/cell-logging.js';
import { readLocalCells } from '../../../local/cells/local-cells.js';

const dir = mkdtempSync(join(tmpdir(), 'local-cells-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cellsFile(value: unknown): string {
  const file = join(dir, `cells-${Math.random()}.json`);
  writeFileSync(file, JSON.stringify(value));
  return file;
}

describe('readLocalCells', () => {
  it('takes an optional "log" file, resolved like the containers file', () => {
    const cells = readLocalCells(
      cellsFile([
        { name: 'cell-1', netns: 'ns1', containers: 's1.json', log: 'logs/cell-1.log' },
        { name: 'cell-2', netns: 'ns2', containers: 's2.json' },
      ]),
    );
    expect(cells).toEqual([
      { name: 'cell-1', netns: 'ns1', containers: resolve('s1.json'), log: resolve('logs/cell-1.log') },
      { name: 'cell-2', netns: 'ns2', containers: resolve('s2.json') },
    ]);
    expect(loggingCells(cells).map((cell) => cell.name)).toEqual(['cell-1']);
  });

  it.each([
    [{ log: '' }, 'must be the path of a file'],
    [{ log: 7 }, 'log'],
  ])('refuses %j', (extra, message) => {
    const file = cellsFile([{ name: 'cell-1', netns: 'ns1', containers: 's1.json', ...extra }]);
    expect(() => readLocalCells(file)).toThrow(message);
  });
});

describe('startCellLogging', () => {
  it('fails at once, naming the cell, when ulogd cannot be run', async () => {
    const cells = [{ name: 'cell-1', netns: 'ns1', containers: '/s.json', log: '/l.log' }];
    await expect(startCellLogging({ cells, dir, log: silentLog, ulogd: '/nonexistent/ulogd' })).rejects.toThrow(
      'cell cell-1 names a "log" file, but /nonexistent/ulogd cannot be run',
    );
  });

  it('starts nothing for cells without a log file', async () => {
    const logging = await startCellLogging({
      cells: [{ name: 'cell-1', netns: 'ns1', containers: '/s.json' }],
      dir,
      log: silentLog,
      ulogd: '/nonexistent/ulogd',
    });
    await logging.stop();
  });
});
