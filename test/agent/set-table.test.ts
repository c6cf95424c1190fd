// When a sync grows the kernel's table of sets first (set-table.ts): only into a kernel holding far
// fewer owned sets than the cell's last apply, and only past the room the table starts with.
// A first sync grows it without a count only for cells of many sources and a large document.
import { describe, expect, it } from 'vitest';
import { opensGrowth, placeholdersNeeded } from '../../agent/set-table.js';

describe('placeholdersNeeded', () => {
  it.each([
    [undefined, 0, 0],
    [256, 0, 0],
    [257, 0, 257],
    [845, 0, 845],
    [845, 400, 445],
    [845, 423, 0],
    [845, 845, 0],
    [4000, 10, 3990],
  ])('with %s sets last applied and %s in the kernel: %s', (expected, present, needed) => {
    expect(placeholdersNeeded(expected, present)).toBe(needed);
  });
});

describe('opensGrowth', () => {
  it.each([
    [32, undefined, true],
    [31, undefined, false],
    [250, 5_792_811, true],
    [250, 1024 * 1024, true],
    [250, 1024 * 1024 - 1, false],
    [10, 5_792_811, false],
  ])('with %s sources and a document of %s characters: %s', (sources, length, opens) => {
    expect(opensGrowth(sources, length)).toBe(opens);
  });
});
