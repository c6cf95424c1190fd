// Local mode's agent runners on its dry-run cell: real DynamoDB Local, no kernel touched.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bundleAgent } from '../../../bundling/agent-bundle.js';
import { DynamoDbCellStatusStore } from '../../../core/store/cell-status-store.js';
import { DynamoDbPolicyStore } from '../../../core/store/dynamodb-policy-store.js';
import { DynamoDbSnapshotStore } from '../../../core/store/snapshot-store.js';
import { documentClient } from '../../../core/store/table-stores.js';
import { publishSnapshot } from '../../../lambdas/fanout/snapshot-publisher.js';
import { inProcessAgentRunner } from '../../../local/cells/agent-in-process.js';
import { agentProcessRunner } from '../../../local/cells/agent-process.js';
import { dryRunCell, EXAMPLE_APP_ID } from '../../../local/cells/dry-run-cell.js';
import { createTestTable } from '../../helpers/ddb.js';
import { tcpDestination } from '../../helpers/fixtures.js';
import { publishedState } from '../../helpers/published-state.js';

const work = mkdtempSync(join(tmpdir(), 'egress-inproc-'));

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

describe('inProcessAgentRunner', () => {
  it('renders the whole ruleset for the dry-run cell at the current version, and records nothing', async () => {
    const table = await createTestTable();
    const documents = documentClient(table.client);
    const policies = new DynamoDbPolicyStore({ client: documents, tableName: table.tableName });
    const [db] = await policies.createDestinations([tcpDestination('inproc-db')]);
    await policies.createEgressPolicies([
      { source: { type: 'app', id: EXAMPLE_APP_ID }, destination: { id: db?.id ?? '' } },
    ]);
    const { version } = await publishSnapshot(
      publishedState(policies, documents, table.tableName),
      new DynamoDbSnapshotStore(documents, table.tableName),
    );

    const run = inProcessAgentRunner({
      dynamodb: table.client,
      tableName: table.tableName,
      stateRoot: join(work, 'cells'),
    });
    const result = await run(dryRunCell(work), version);
    expect(result.ok).toBe(true);
    expect(result.version).toBe(version);
    expect(result.output).toContain('would apply:');
    expect(result.output).toContain('-d 198.51.100.10/32 -p tcp -m tcp --dport 443');
    expect(result.output).toContain('-j REJECT --reject-with tcp-reset');
    // The same ruleset again (start-up's republish, then its resync) is one line, not the whole of it.
    const again = await run(dryRunCell(work), version);
    expect(again.output).toBe(`would apply: the same ruleset as logged before (version ${version})`);
    // A dry run reports nothing: the table shows no cell.
    expect(await new DynamoDbCellStatusStore(documents, table.tableName).list()).toEqual([]);
  });

  it('reports a bad containers file as a failure instead of throwing', async () => {
    const table = await createTestTable();
    const run = inProcessAgentRunner({
      dynamodb: table.client,
      tableName: table.tableName,
      stateRoot: join(work, 'c2'),
    });
    const result = await run({ name: 'broken', containers: join(work, 'missing.json') }, 0);
    expect(result.ok).toBe(false);
    expect(result.output).toMatch(/cannot read/);
  });
});

describe('agentProcessRunner', () => {
  it('runs the bundled agent as SSM does and reads its summary line: the same result as in-process', async () => {
    const table = await createTestTable();
    const documents = documentClient(table.client);
    const policies = new DynamoDbPolicyStore({ client: documents, tableName: table.tableName });
    const [db] = await policies.createDestinations([tcpDestination('process-db')]);
    await policies.createEgressPolicies([
      { source: { type: 'app', id: EXAMPLE_APP_ID }, destination: { id: db?.id ?? '' } },
    ]);
    const { version } = await publishSnapshot(
      publishedState(policies, documents, table.tableName),
      new DynamoDbSnapshotStore(documents, table.tableName),
    );

    const stateRoot = join(work, 'process-cells');
    // Both pass local mode's deny networks on (EGRESS_DENY_NETWORKS): the same rules either way.
    const denyNetworks = { always: ['169.254.169.254/32'], running: ['192.0.2.0/24'], staging: [] };
    const inProcess = inProcessAgentRunner({
      dynamodb: table.client,
      tableName: table.tableName,
      stateRoot,
      denyNetworks,
    });
    const inProcessResult = await inProcess(dryRunCell(work), version);
    expect(inProcessResult.output).toContain('-d 169.254.169.254/32 -p tcp -j REJECT --reject-with tcp-reset');
    expect(inProcessResult.output).toContain('-d 192.0.2.0/24 -p tcp -j REJECT --reject-with tcp-reset');
    const run = agentProcessRunner({
      agentFile: await bundleAgent(join(work, 'bundle')),
      tableName: table.tableName,
      dynamodbEndpoint: table.endpoint,
      stateRoot,
      denyNetworks,
    });
    const result = await run(dryRunCell(work), version);
    expect(result).toEqual({ ok: true, version, output: inProcessResult.output.trimEnd() });
  });
});
