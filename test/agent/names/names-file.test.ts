// The names document: destinations and their hosts, strictly validated; other keys ignored. The
// sync writes it (atomically, only when it changed); the refresh loop watches it.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  formatNamesFile,
  MAX_HOSTS_PER_DESTINATION,
  NamesFileWatch,
  parseNamesFile,
  readNamesFile,
  writeNamesFile,
} from '../../../agent/names/names-file.js';
import { ValidationError } from '../../../core/domain/errors.js';

describe('parseNamesFile', () => {
  it('keeps destinations with hosts (sorted, each once), skips the others, ignores other keys', () => {
    const text = JSON.stringify({
      total_destinations: 3,
      destinations: [
        { id: 'd1', name: 'DB', hosts: ['db.example.com', 'a.example.com', 'db.example.com'], protocol: 'tcp' },
        { id: 'd2', ips: [{ start: '198.51.100.1', end: '198.51.100.1' }] },
        { id: 'd3', hosts: [] },
      ],
    });
    expect(parseNamesFile(text)).toEqual([{ id: 'd1', hosts: ['a.example.com', 'db.example.com'] }]);
  });

  it.each([
    ['{', /^--names: malformed JSON/],
    [JSON.stringify({}), /destinations/],
    [JSON.stringify({ destinations: [{ id: 'd 1', hosts: ['a.example.com'] }] }), /destinations\[0\]\.id/],
    [
      JSON.stringify({ destinations: [{ id: 'd1', hosts: ['*.example.com'] }] }),
      /hosts\[0\]: must be an exact name, not a wildcard/,
    ],
    [JSON.stringify({ destinations: [{ id: 'd1', hosts: ['DB.example.com'] }] }), /lower case/],
    [JSON.stringify({ destinations: [{ id: 'd1', hosts: 'db.example.com' }] }), /hosts/],
    [
      JSON.stringify({
        destinations: [
          { id: 'd1', hosts: ['a.example.com', 'b.example.com'] },
          { id: 'd1', hosts: ['b.example.com', 'a.example.com'] },
        ],
      }),
      /must not repeat a destination id with the same names/,
    ],
    [
      JSON.stringify({
        destinations: [
          { id: 'd1', hosts: Array.from({ length: MAX_HOSTS_PER_DESTINATION + 1 }, (_, i) => `h${i}.example.com`) },
        ],
      }),
      /must hold at most 64 names/,
    ],
  ])('refuses %s', (text, message) => {
    expect(() => parseNamesFile(text)).toThrow(ValidationError);
    expect(() => parseNamesFile(text)).toThrow(message);
  });
});

describe('writeNamesFile (the sync) and NamesFileWatch (the refresh loop)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'names-file-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('formats one document per set of destinations: by id, hosts sorted; an id with other names stays apart (its own host set)', () => {
    const text = formatNamesFile([
      { id: 'd2', hosts: ['b.example.com', 'a.example.com'] },
      { id: 'd1', hosts: ['x.example.com'] },
      { id: 'd2', hosts: ['a.example.com', 'c.example.com'] },
      { id: 'd2', hosts: ['a.example.com', 'b.example.com', 'b.example.com'] },
    ]);
    expect(text).toBe(
      '{"destinations":[{"id":"d1","hosts":["x.example.com"]},{"id":"d2","hosts":["a.example.com","b.example.com"]},{"id":"d2","hosts":["a.example.com","c.example.com"]}]}\n',
    );
    expect(parseNamesFile(text)).toEqual([
      { id: 'd1', hosts: ['x.example.com'] },
      { id: 'd2', hosts: ['a.example.com', 'b.example.com'] },
      { id: 'd2', hosts: ['a.example.com', 'c.example.com'] },
    ]);
  });

  it('writes only when the content changes, by a rename (new inode, no temporary file left)', async () => {
    const path = join(dir, 'state', 'host-names.json');
    expect(writeNamesFile(path, [{ id: 'd1', hosts: ['a.example.com'] }])).toBe(true);
    const first = statSync(path);
    expect(writeNamesFile(path, [{ id: 'd1', hosts: ['a.example.com'] }])).toBe(false);
    expect(statSync(path).ino).toBe(first.ino);
    expect(writeNamesFile(path, [])).toBe(true);
    expect(statSync(path).ino).not.toBe(first.ino);
    expect(readdirSync(join(dir, 'state'))).toEqual(['host-names.json']);
    expect(await readNamesFile(path)).toEqual([]);
  });

  it('a watch sees a rewrite (by rename or in place), not a read; a missing file is empty only when asked', async () => {
    const path = join(dir, 'watched.json');
    const watch = new NamesFileWatch(path, true);
    expect(watch.changed()).toBe(false);
    expect(await watch.read()).toEqual([]);
    expect(watch.changed()).toBe(false);
    writeNamesFile(path, [{ id: 'd1', hosts: ['a.example.com'] }]);
    expect(watch.changed()).toBe(true);
    expect(await watch.read()).toEqual([{ id: 'd1', hosts: ['a.example.com'] }]);
    expect(watch.changed()).toBe(false);
    // Rewritten in place with the same size: the mtime tells.
    writeFileSync(path, readFileSync(path, 'utf8').replace('d1', 'd2'));
    utimesSync(path, new Date(), new Date(Date.now() + 5000));
    expect(watch.changed()).toBe(true);
    await expect(new NamesFileWatch(join(dir, 'missing.json'), false).read()).rejects.toThrow(/--names/);
  });
});
