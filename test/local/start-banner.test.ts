// What `npm start` prints once it is up, word for word: the README quotes it and users copy from it.
import { describe, expect, it } from 'vitest';
import { startBanner } from '../../local/start-banner.js';

const facts = {
  url: 'http://127.0.0.1:8080',
  dynamodbEndpoint: 'http://127.0.0.1:41234',
  tableName: 'dynamic-egress',
  stateDir: '/srv/egress/.local',
};

describe('npm start banner', () => {
  it('shows the API, the data folder, the token command and a dry-run cell', () => {
    const banner = startBanner({
      ...facts,
      inMemory: false,
      cells: [{ name: 'dry-run', containers: '/srv/egress/.local/dry-run-cell/store.json' }],
    });
    expect(banner).toBe(`dynamic-egress local mode
  API:       http://127.0.0.1:8080/networking/v1/external
  DynamoDB:  http://127.0.0.1:41234 (table dynamic-egress, data in /srv/egress/.local/dynamodb)
  Token:     export TOKEN="$(npm run --silent token)"
  Try:       curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8080/networking/v1/external/destinations
  Cells:     dry-run (dry run: logs the rules it would apply)
             GET http://127.0.0.1:8080/networking/v1/external/cells shows the version each enforcing cell applied
             (a dry-run cell enforces nothing, so it is not listed; set EGRESS_LOCAL_CELLS for real cells)
Ctrl-C stops everything.`);
  });

  it('says when the data is in memory and names each cell’s namespace', () => {
    const banner = startBanner({
      ...facts,
      inMemory: true,
      cells: [
        { name: 'cell-1', netns: 'ns-1', containers: '/tmp/1.json' },
        { name: 'cell-2', netns: 'ns-2', containers: '/tmp/2.json' },
      ],
    });
    expect(banner).toContain('  DynamoDB:  http://127.0.0.1:41234 (table dynamic-egress, in memory)\n');
    expect(banner).toContain('  Cells:     cell-1 (netns ns-1), cell-2 (netns ns-2)\n');
  });
});
