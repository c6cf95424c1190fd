// The Lambda entry of the fan-out. Configuration comes from the stack through the environment.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SSMClient } from '@aws-sdk/client-ssm';
import { dependenciesFor, documentClient } from '../store/from-environment.js';
import { DynamoDbSnapshotStore } from '../store/snapshot-store.js';
import { createFanoutHandler, type FanoutHandler } from './fanout.js';
import { SsmCommander } from './ssm-commander.js';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

let fanout: FanoutHandler | undefined;

export const handler: FanoutHandler = async (event) => {
  if (!fanout) {
    const tableName = required('TABLE_NAME');
    const dynamodb = new DynamoDBClient({});
    fanout = createFanoutHandler({
      policies: dependenciesFor(dynamodb, tableName).policies,
      snapshots: new DynamoDbSnapshotStore(documentClient(dynamodb), tableName),
      // Our own backoff handles throttling; the client's retries would multiply it.
      commander: new SsmCommander({
        client: new SSMClient({ maxAttempts: 1 }),
        documentName: required('SYNC_DOCUMENT_NAME'),
        tagKey: required('CELL_TAG_KEY'),
        tagValue: required('CELL_TAG_VALUE'),
        maxConcurrency: process.env.MAX_CONCURRENCY ?? '50%',
        maxErrors: process.env.MAX_ERRORS ?? '10%',
      }),
    });
  }
  return fanout(event);
};
