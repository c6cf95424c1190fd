// The filters of GET /v3/security_groups compare values as groups store them: space ids lower-cased
// in guid mode and as given in identifier mode (where `TeamA` and `teama` are two spaces), names in NFC.
import { describe, expect, it } from 'vitest';
import type { SecurityGroup } from '../../../../core/domain/security-group.js';
import { securityGroupFilters } from '../../../../lambdas/api/v3/security-group-filters.js';

const group = (name: string, runningSpaces: string[]): SecurityGroup => ({
  guid: '11111111-2222-4333-8444-555555555555',
  name,
  createdAt: '2026-12-05T00:00:00.000Z',
  updatedAt: '2026-12-05T00:00:00.000Z',
  globallyEnabled: { running: false, staging: false },
  rules: [],
  bindings: { running: { space: runningSpaces, organization: [] }, staging: { space: [], organization: [] } },
});
const request = (query: Record<string, string>) => ({ body: undefined, query, pathParameters: {}, baseUrl: '' });
const matches = (query: Record<string, string>, format: 'guid' | 'identifier', candidate: SecurityGroup) => {
  const problems: string[] = [];
  const filters = securityGroupFilters(request(query), format, problems);
  expect(problems).toEqual([]);
  return filters.every((keep) => keep(candidate));
};

describe('securityGroupFilters', () => {
  it('matches space ids as given in identifier mode, and lower-cased in guid mode', () => {
    expect(matches({ running_space_guids: 'TeamA' }, 'identifier', group('g', ['TeamA']))).toBe(true);
    expect(matches({ running_space_guids: 'teama' }, 'identifier', group('g', ['TeamA']))).toBe(false);
    const guid = 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee';
    expect(matches({ running_space_guids: guid.toUpperCase() }, 'guid', group('g', [guid]))).toBe(true);
  });

  it('matches a name in any normal form against the stored NFC name', () => {
    const stored = 'cafe\u0301-egress'.normalize('NFC');
    expect(matches({ names: 'cafe\u0301-egress' }, 'guid', group(stored, []))).toBe(true);
  });
});
