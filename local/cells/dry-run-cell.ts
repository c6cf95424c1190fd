// Without EGRESS_LOCAL_CELLS, local mode has one cell that changes nothing and logs the ruleset it
// would apply, for an example container: the "backend" app of CF's announcement, in "space-a".
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LocalCell } from './local-cells.js';

export const EXAMPLE_APP_ID = '887757be-5eda-48ce-b427-79dcc0705e91';

export function dryRunCell(stateDir: string): LocalCell {
  const dir = join(stateDir, 'dry-run-cell');
  const containers = join(dir, 'store.json');
  if (!existsSync(containers)) {
    mkdirSync(dir, { recursive: true });
    const store = {
      'backend-0': {
        handle: 'backend-0',
        ip: '10.255.82.67',
        metadata: { app_id: EXAMPLE_APP_ID, space_id: 'space-a', org_id: 'org-1', policy_group_id: EXAMPLE_APP_ID },
      },
    };
    writeFileSync(containers, `${JSON.stringify(store, null, 2)}\n`);
  }
  return { name: 'dry-run', containers };
}
