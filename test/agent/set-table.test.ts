// When a sync grows the kernel's table of sets first (set-table.ts): only into a kernel holding far
// fewer owned sets than the cell's last apply, and only past the room the table starts with.
// A first sync grows it without a count only for cells of many sources and a large document.
import {
  lutimesSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CommandResult } from '../../agent/runner.js';
import {
  opensGrowth,
  placeholdersNeeded,
  STALE_GROWTH_FOLDER_MS,
  startOpenGrowth,
  sweepGrowthFolders,
} from '../../agent/set-table.js';

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

describe('startOpenGrowth', () => {
  it("runs one growth at a time in a process (ipset's lock is the host's), and the next once it is over", async () => {
    const started: string[] = [];
    let end: (result: CommandResult) => void = () => undefined;
    const runner = (command: string) => {
      started.push(command);
      return new Promise<CommandResult>((resolve) => {
        end = resolve;
      });
    };
    const first = startOpenGrowth(runner);
    const second = startOpenGrowth(runner);
    expect(started).toEqual(['sh']);
    await second.finish();
    const finished = first.finish();
    end({ code: 0, stdout: '', stderr: '' });
    await finished;
    // A runner that throws at once leaves none running either.
    await startOpenGrowth(() => {
      throw new Error('cannot start');
    }).finish();
    const third = startOpenGrowth(runner);
    expect(started).toEqual(['sh', 'sh']);
    end({ code: 0, stdout: '', stderr: '' });
    await third.finish();
  });
});

describe('sweepGrowthFolders', () => {
  it('removes growth folders older than the bound, and nothing else', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sweep-'));
    try {
      const now = Date.now();
      const make = (name: string, ageMs: number) => {
        const folder = join(dir, name);
        mkdirSync(folder);
        writeFileSync(join(folder, 'stop'), '');
        const at = new Date(now - ageMs);
        utimesSync(folder, at, at);
      };
      make('dyneg-grow-old', STALE_GROWTH_FOLDER_MS + 60_000);
      make('dyneg-grow-running', 5_000);
      make('other-old', STALE_GROWTH_FOLDER_MS + 60_000);
      // A link of a growth folder's name is not followed, nor removed.
      const target = join(dir, 'target');
      mkdirSync(target);
      symlinkSync(target, join(dir, 'dyneg-grow-link'));
      const at = new Date(now - 2 * STALE_GROWTH_FOLDER_MS);
      lutimesSync(join(dir, 'dyneg-grow-link'), at, at);
      // Old too, so that a sweep following the link would take it for a stale folder.
      utimesSync(target, at, at);
      sweepGrowthFolders(dir, now);
      expect(readdirSync(dir).sort()).toEqual(['dyneg-grow-link', 'dyneg-grow-running', 'other-old', 'target']);
      // A folder that cannot be read changes nothing.
      expect(() => sweepGrowthFolders(join(dir, 'missing'), now)).not.toThrow();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
