import { describe, expect, it } from 'vitest';
import type { CellReport } from '../../../core/domain/cells.js';
import { cellsToTell } from '../../../lambdas/fanout/cell-targets.js';

const NOW = new Date('2026-12-04T12:00:00Z');
const options = { liveCellWindowMs: 60_000, now: NOW };
const cell = (name: string, sources?: string[], ageMs = 0): CellReport => ({
  name,
  appliedVersion: 1,
  appliedAt: NOW.toISOString(),
  syncedAt: new Date(NOW.getTime() - ageMs).toISOString(),
  containers: 1,
  rules: 1,
  ...(sources === undefined ? {} : { sources }),
});

describe('cellsToTell', () => {
  const fleet = [cell('c', ['app:x', 'global']), cell('a', ['app:x', 'space:s', 'global']), cell('b', ['app:y'])];

  it('names the live cells hosting a changed source, sorted', () => {
    expect(cellsToTell(['app:x'], fleet, options)).toEqual({ kind: 'cells', names: ['a', 'c'] });
    expect(cellsToTell(['space:s', 'app:y'], fleet, options)).toEqual({ kind: 'cells', names: ['a', 'b'] });
    expect(cellsToTell(['app:z'], fleet, options)).toEqual({ kind: 'cells', names: [] });
    expect(cellsToTell(['app:x'], [...fleet, cell('old', ['app:x'], 60_001)], options)).toEqual({
      kind: 'cells',
      names: ['a', 'c'],
    });
  });

  it('tells everyone whenever it cannot tell', () => {
    const all = (changed: Parameters<typeof cellsToTell>[0], reports = fleet, maxCells?: number) =>
      cellsToTell(changed, reports, { ...options, ...(maxCells === undefined ? {} : { maxCells }) }).kind;
    expect(all(undefined)).toBe('all');
    expect(all('all')).toBe('all');
    expect(all(['global'])).toBe('all');
    expect(all(['app:x'], [])).toBe('all');
    expect(all(['app:x'], [cell('old', ['app:x'], 120_000)])).toBe('all');
    expect(all(['app:x'], [...fleet, cell('legacy')])).toBe('all');
    expect(all(['app:x'], fleet, 1)).toBe('all');
    expect(all(['app:x'], fleet, 2)).toBe('cells');
  });
});
