// What egressctl prints from canned API answers: explain's verdict and reasons, the cells table and
// its thresholds, API errors as one line with a hint and their exit codes.
import { describe, expect, it } from 'vitest';
import { apiRefusal, errorMessage } from '../../ctl/api-errors.js';
import { cellProblem, cellTable } from '../../ctl/commands/cells.js';
import { explanationText } from '../../ctl/commands/explain.js';
import { securityGroupDetails, securityGroupTable } from '../../ctl/commands/security-groups.js';
import { EXIT_FAILED, EXIT_UNREACHABLE } from '../../ctl/exit-codes.js';
import { renderTable } from '../../ctl/table.js';

describe('explain', () => {
  it('prints the verdict, then one line per reason', () => {
    const text = explanationText({
      allowed: true,
      version: 7,
      reasons: [
        {
          type: 'egress_policy',
          description: 'policy 1a2b from app 887757be to MySQL (tcp 23.96.35.235:3306)',
          id: '1a2b',
        },
        { type: 'security_group', description: 'public_networks_egress, bound to space 5b6e2f4a for running' },
      ],
    });
    expect(text).toBe(
      'ALLOWED (policy version 7)\n' +
        '  egress_policy: policy 1a2b from app 887757be to MySQL (tcp 23.96.35.235:3306)\n' +
        '  security_group: public_networks_egress, bound to space 5b6e2f4a for running\n',
    );
  });

  it('says DENIED, and escapes what could rearrange the terminal', () => {
    const text = explanationText({
      allowed: false,
      version: 1,
      reasons: [{ type: 'default_deny', description: 'nothing allows it\u202e, so the default deny applies' }],
    });
    expect(text).toBe(
      'DENIED (policy version 1)\n  default_deny: nothing allows it\\u202e, so the default deny applies\n',
    );
  });
});

describe('cells', () => {
  const now = new Date('2026-12-04T12:00:00Z');
  const cell = {
    name: 'cell-1',
    applied_version: 40,
    applied_at: '2026-12-04T11:59:00Z',
    synced_at: '2026-12-04T11:59:30Z',
    containers: 3,
    rules: 12,
    lag_versions: 0,
    lag_seconds: 0,
  };
  const thresholds = { maxLag: 0, maxAgeSeconds: 3600 };

  it('is fine within the thresholds, BEHIND past --max-lag, STALE past --max-age', () => {
    expect(cellProblem(cell, thresholds, now)).toBeUndefined();
    expect(cellProblem({ ...cell, lag_versions: 2, lag_seconds: 3 }, thresholds, now)).toBe('BEHIND 2');
    expect(cellProblem({ ...cell, lag_versions: 2 }, { ...thresholds, maxLag: 2 }, now)).toBeUndefined();
    expect(cellProblem(cell, { ...thresholds, maxAgeSeconds: 29 }, now)).toBe('STALE');
    expect(cellProblem(cell, { ...thresholds, maxAgeSeconds: 30 }, now)).toBeUndefined();
  });

  it('prints a table with the current version, each cell and its status', () => {
    const table = cellTable(
      {
        current_version: 42,
        total_cells: 2,
        cells: [cell, { ...cell, name: 'cell-2', lag_versions: 2, lag_seconds: 3.2 }],
      },
      thresholds,
      now,
    );
    expect(table.split('\n')).toEqual([
      'current version 42, 2 cell(s)',
      'CELL    APPLIED  LAG  BEHIND FOR  LAST SYNC  CONTAINERS  RULES  STATUS',
      'cell-1  40       0    -           30s ago    3           12     ok',
      'cell-2  40       2    3.2s        30s ago    3           12     BEHIND 2',
      '',
    ]);
  });
});

describe('API errors', () => {
  it("reads v1's, V3's and API Gateway's bodies, and quotes anything else briefly", () => {
    expect(errorMessage('{"error":"destinations[0].name: is required"}')).toBe('destinations[0].name: is required');
    expect(
      errorMessage('{"errors":[{"code":10008,"title":"CF-UnprocessableEntity","detail":"Name must be unique"}]}'),
    ).toBe('CF-UnprocessableEntity: Name must be unique');
    expect(errorMessage('{"message":"Unauthorized"}')).toBe('Unauthorized');
    expect(errorMessage('<html>bad gateway</html>')).toBe('<html>bad gateway</html>');
    expect(errorMessage('x'.repeat(400))).toHaveLength(301);
  });

  it('makes a 401 exit 3 with how to get a token, other refusals exit 1', () => {
    const expired = apiRefusal('GET', '/v3/security_groups', 401, '{"error":"token expired"}');
    expect(expired).toMatchObject({
      message: 'GET /v3/security_groups → 401: token expired',
      exitCode: EXIT_UNREACHABLE,
      hint: 'token expired or missing: set EGRESS_TOKEN or run `npm run --silent token`',
    });
    expect(apiRefusal('POST', '/x', 400, '{"error":"bad\\nline"}')).toMatchObject({
      message: 'POST /x → 400: bad line',
      exitCode: EXIT_FAILED,
    });
    expect(apiRefusal('POST', '/x', 503, '{}').hint).toMatch(/run the command again/);
  });
});

describe('tables', () => {
  it('pads columns to the widest cell and escapes control characters', () => {
    expect(
      renderTable(
        ['A', 'LONGER'],
        [
          ['x\u0007', 'y'],
          ['wide value', ''],
        ],
      ),
    ).toBe('A           LONGER\nx\\u0007     y\nwide value\n');
  });
});

describe('security groups', () => {
  const group = {
    guid: 'b85a788e-671f-4549-814d-e34cdb2f539a',
    name: 'evil\u202egroup',
    rules: [
      { protocol: 'tcp', destination: '10.0.0.0/8', ports: '443', log: true },
      { protocol: 'icmp', destination: '10.0.0.1', type: 8, code: 0, description: 'ping' },
    ],
    globally_enabled: { running: true, staging: false },
    relationships: {
      running_spaces: { data: [{ guid: 'space-1' }, { guid: 'space-2' }] },
      staging_spaces: { data: [] },
      running_organizations: { data: [{ guid: 'org-1' }] },
      staging_organizations: { data: [] },
    },
  };

  it('shows one group: its facts escaped, its bindings and its rules as a table', () => {
    expect(securityGroupDetails(group).split('\n')).toEqual([
      'name: evil\\u202egroup',
      'guid: b85a788e-671f-4549-814d-e34cdb2f539a',
      'globally enabled: running',
      'running spaces: space-1, space-2',
      'staging spaces: -',
      'running organizations: org-1',
      'staging organizations: -',
      '',
      'PROTOCOL  DESTINATION  PORTS  ICMP  LOG  DESCRIPTION',
      'tcp       10.0.0.0/8   443          yes',
      'icmp      10.0.0.1            8/0        ping',
      '',
    ]);
  });

  it('lists groups with counts', () => {
    expect(securityGroupTable([group]).split('\n')[1]).toBe(
      'b85a788e-671f-4549-814d-e34cdb2f539a  evil\\u202egroup  2      running  2               0               1',
    );
  });
});

describe('tables at scale', () => {
  it('pads columns to their widest cell, however many rows (200,000 does not overflow the stack)', () => {
    const rows = Array.from({ length: 200_000 }, (_, index) => [String(index), 'x']);
    const lines = renderTable(['N', 'VALUE'], rows).split('\n');
    expect(lines[0]).toBe('N       VALUE');
    expect(lines[200_000]).toBe('199999  x');
  });
});
