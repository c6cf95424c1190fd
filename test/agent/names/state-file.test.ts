// names.json: written atomically, read back through zod/mini, ignored (with a warning) when it cannot be trusted.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NameEntry } from '../../../agent/names/name-state.js';
import { NAMES_STATE_FILE, readNameStates, writeNameStates } from '../../../agent/names/state-file.js';

const ENTRY: NameEntry = {
  addresses: [{ address: '198.51.100.1', expiresAt: 1_700_000_000_000 }],
  nextLookupAt: 1_700_000_000_000,
  failures: 1,
};

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'names-state-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('names state file', () => {
  it('round-trips, sorted by name, mode 0600, in a 0700 folder it makes', () => {
    const stateDir = join(dir, 'state');
    writeNameStates(
      stateDir,
      new Map([
        ['z.example', ENTRY],
        ['a.example', { ...ENTRY, addresses: [] }],
      ]),
    );
    expect(statSync(stateDir).mode & 0o777).toBe(0o700);
    expect(statSync(join(stateDir, NAMES_STATE_FILE)).mode & 0o777).toBe(0o600);
    const read = readNameStates(stateDir);
    expect(read.warning).toBeUndefined();
    expect([...read.states.keys()]).toEqual(['a.example', 'z.example']);
    expect(read.states.get('z.example')).toEqual(ENTRY);
    expect(readFileSync(join(stateDir, NAMES_STATE_FILE), 'utf8')).toMatch(/^\{"version":1,"names":\{"a\.example"/);
  });

  it('a missing file is a fresh start without a warning', () => {
    expect(readNameStates(dir)).toEqual({ states: new Map() });
  });

  it.each([
    ['not JSON', '{"version":1,'],
    ['another version', JSON.stringify({ version: 2, names: {} })],
    ['a name that is not one', JSON.stringify({ version: 1, names: { '*.example.com': ENTRY } })],
    ['__proto__ as a name', '{"version":1,"names":{"__proto__":{"addresses":[],"nextLookupAt":0,"failures":0}}}'],
    [
      'an address that is not one',
      JSON.stringify({ version: 1, names: { 'a.example': { ...ENTRY, addresses: [{ address: 'x', expiresAt: 1 }] } } }),
    ],
    ['a negative time', JSON.stringify({ version: 1, names: { 'a.example': { ...ENTRY, nextLookupAt: -1 } } })],
    ['an unknown key', JSON.stringify({ version: 1, names: { 'a.example': { ...ENTRY, trusted: true } } })],
    ['an array', '[]'],
  ])('ignores a file with %s, with a warning naming the file', (_what, text) => {
    writeFileSync(join(dir, NAMES_STATE_FILE), text);
    const read = readNameStates(dir);
    expect(read.states.size).toBe(0);
    expect(read.warning).toContain(join(dir, NAMES_STATE_FILE));
    expect(read.warning).toMatch(/ignored$/);
  });

  it('an unreadable state (a folder in its place) is a fresh start with a warning', () => {
    const stateDir = join(dir, 's');
    writeNameStates(stateDir, new Map());
    rmSync(join(stateDir, NAMES_STATE_FILE));
    mkdirSync(join(stateDir, NAMES_STATE_FILE));
    expect(readNameStates(stateDir).warning).toContain('cannot read (EISDIR)');
  });
});
