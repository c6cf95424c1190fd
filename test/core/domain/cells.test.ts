import { describe, expect, it } from 'vitest';
import { type CellReport, cellList, isBehind } from '../../../core/domain/cells.js';

const NOW = new Date('2026-12-04T12:00:00Z');
const cell = (name: string, sources?: string[]): CellReport => ({
  name,
  appliedVersion: 1,
  appliedAt: NOW.toISOString(),
  syncedAt: NOW.toISOString(),
  containers: 1,
  rules: 1,
  ...(sources === undefined ? {} : { sources }),
});

describe('isBehind', () => {
  const at = (appliedVersion: number, sources?: string[]): CellReport => ({ ...cell('c', sources), appliedVersion });
  const entries = new Map<number, { keys: string[] | 'all' }>([
    [4, { keys: ['app:x'] }],
    [5, { keys: ['app:y'] }],
    [6, { keys: ['global'] }],
  ]);

  it('is not behind when no logged change since its version touched what it hosts', () => {
    expect(isBehind(at(4, ['app:y']), 4, [3, 4], entries)).toBe(false);
    expect(isBehind(at(4, ['app:z']), 5, [3, 4, 5], entries)).toBe(false);
    expect(isBehind(at(5, ['app:x']), 5, [4, 5], entries)).toBe(false);
  });

  it('is behind when a change since touched one of its sources or the global shard, or the log cannot tell', () => {
    expect(isBehind(at(3, ['app:x']), 5, [3, 4, 5], entries)).toBe(true);
    expect(isBehind(at(4, ['app:y']), 5, [3, 4, 5], entries)).toBe(true);
    expect(isBehind(at(5, ['app:z']), 6, [5, 6], entries)).toBe(true);
    expect(isBehind(at(2, ['app:z']), 5, [3, 4, 5], entries)).toBe(true);
    expect(isBehind(at(4), 5, [4, 5], entries)).toBe(true);
    expect(isBehind(at(4, ['app:z']), 5, undefined, entries)).toBe(true);
    expect(isBehind(at(4, ['app:z']), 7, [4, 7], entries)).toBe(true);
    expect(isBehind(at(4, ['app:z']), 5, [4, 5], new Map([[5, { keys: 'all' }]]))).toBe(true);
  });
});

describe('cellList', () => {
  const entries = new Map([[5, { keys: ['app:y'] }]]);
  const current = { version: 5, writtenAt: new Date(NOW.getTime() - 10_000).toISOString() };
  const reports = [
    { ...cell('x', ['app:x']), appliedVersion: 4 },
    { ...cell('y', ['app:y']), appliedVersion: 4 },
  ];
  const lags = (log?: Parameters<typeof cellList>[3], now = current) =>
    cellList(reports, now, NOW, log).cells.map((each) => [each.name, each.lag_versions, each.lag_seconds]);

  it('counts versions and seconds behind by version alone without a change log', () => {
    expect(lags()).toEqual([
      ['x', 1, 10],
      ['y', 1, 10],
    ]);
  });

  it('shows a cell no change since its version concerned as up to date', () => {
    const log = { version: 5, versions: [4, 5], entries };
    expect(lags(log)).toEqual([
      ['x', 0, 0],
      ['y', 1, 10],
    ]);
    // A publish still to come (the pointer behind the policy version): nobody can be called current.
    expect(lags(log, { ...current, version: 6 })).toEqual([
      ['x', 2, 10],
      ['y', 2, 10],
    ]);
  });
});
