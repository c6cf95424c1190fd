// The names document: destinations and their hosts, strictly validated; other keys ignored.
import { describe, expect, it } from 'vitest';
import { MAX_HOSTS_PER_DESTINATION, parseNamesFile } from '../../../agent/names/names-file.js';
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
          { id: 'd1', hosts: ['a.example.com'] },
          { id: 'd1', hosts: ['b.example.com'] },
        ],
      }),
      /must not repeat a destination id/,
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
