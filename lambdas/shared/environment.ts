// Configuration a Lambda gets from its stack, through the environment, and the clients and stores on
// its table. Built on first use, once per container, so importing a handler (tests, local mode)
// needs no environment.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { storesFor, type TableStores } from '../../core/store/table-stores.js';

export function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

let client: DynamoDBClient | undefined;
let stores: TableStores | undefined;

export function dynamoDbFromEnvironment(): DynamoDBClient {
  client ??= new DynamoDBClient({});
  return client;
}

/** The stores on the table named by TABLE_NAME. */
export function storesFromEnvironment(): TableStores {
  stores ??= storesFor(dynamoDbFromEnvironment(), requiredEnv('TABLE_NAME'));
  return stores;
}
