// Configuration a Lambda gets from its stack, through the environment, and the client on its table.
// Built on first use, once per container, so importing a handler (tests, local mode) needs no
// environment. The stores come from the modules beside this one, one per family of routes, so that
// each bundle holds only the stores it uses.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';

export function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

let client: DynamoDBClient | undefined;

export function dynamoDbFromEnvironment(): DynamoDBClient {
  client ??= new DynamoDBClient({});
  return client;
}
