// When a sync grows the kernel's table of sets first (set-table.ts): only into a kernel holding far
// fewer owned sets than the cell's last apply, and only past the room the table starts with.
import { describe, expect, it } from 'vitest';
import { placeholdersNeeded } from '../../agent/set-table.js';

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
