// Local mode: DynamoDB Local + the local issuer + the API gateway stand-in, wired to the same
// handlers Lambda runs. `npm start` uses it, and so do the API tests and the benchmarks.
import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { CellRegistry } from '../core/domain/cells.js';
import type { PolicyStore } from '../core/domain/store.js';
import { jsonLineLog, type Log } from '../core/log.js';
import { DEFAULT_TABLE_NAME } from '../core/store/table-definition.js';
import { storesFor } from '../core/store/table-stores.js';
import { createApiHandler } from '../lambdas/api/api-handler.js';
import { OPERATIONS } from '../lambdas/api/operations.js';
import { ROUTES } from '../lambdas/api/routes.js';
import { createApiGateway } from './api/api-gateway.js';
import { LOCAL_AUDIENCE, LOCAL_ISSUER, LOCAL_JWKS_PATH, type LocalIssuer, openLocalIssuer } from './api/issuer.js';
import { createJwtVerifier } from './api/jwt-verifier.js';
import { type CellLogging, startCellLogging } from './cells/cell-logging.js';
import { type CellNames, type CellNamesOptions, startCellNames } from './cells/cell-names.js';
import type { CellProxies } from './cells/cell-proxies.js';
import type { LocalCell } from './cells/local-cells.js';
import type { AgentRunner } from './cells/local-dispatcher.js';
import { type DynamoDbLocal, ensureTable, LOCAL_CLIENT_CONFIG, startDynamoDbLocal } from './dynamodb-local.js';
import { LOCAL_SERVICE } from './local-service.js';
import { type LocalPropagation, startPropagation } from './propagation/propagation.js';

export interface LocalModeOptions {
  /** Folder for the issuer key and (unless in memory) the database. */
  readonly stateDir: string;
  /** HTTP port on 127.0.0.1; 0 picks a free one. @default 8080 */
  readonly port?: number;
  /** Use an already running DynamoDB (tests); otherwise DynamoDB Local is started. */
  readonly dynamodbEndpoint?: string;
  /** Keep data in memory only (a throwaway run). @default false */
  readonly inMemory?: boolean;
  /** DynamoDB Local's port; 0 picks a free one. @default 0 */
  readonly dynamodbPort?: number;
  /** @default 'dynamic-egress' */
  readonly tableName?: string;
  /** Verify tokens from another issuer (e.g. a real UAA) instead of the local one. */
  readonly jwt?: { readonly jwksUrl: string; readonly issuer: string; readonly audience: string };
  /** One line per request (method, path, status, milliseconds, token subject). @default none (tests, benchmarks) */
  readonly requestLog?: Log;
  /** Told each start-up step as it completes (npm start prints them with the time taken). @default silent */
  readonly progress?: (step: string) => void;
  /** Told DynamoDB's endpoint as soon as it is known (before propagation starts). */
  readonly onDynamoDbReady?: (endpoint: string, client: DynamoDBClient) => void;
  /** Run the propagation loop to these cells; omitted, the API runs alone (API tests). */
  readonly propagation?: {
    readonly cells: readonly LocalCell[];
    readonly runAgent: AgentRunner;
    /** The scheduled republish (the EventBridge rule in AWS). @default 5 minutes */
    readonly republishIntervalMs?: number;
    /** The full sync of every cell (the State Manager association in AWS). @default 30 minutes */
    readonly resyncIntervalMs?: number;
    /** Sync a cell as soon as its containers file changes (the cells' path unit). @default true */
    readonly watchContainers?: boolean;
    /**
     * Run a host-name refresh per cell with a namespace (cell-names.ts: `agent names --from-sync`
     * of this agent bundle on the cell's state directory). Omitted, names allow nothing (tests).
     */
    readonly names?: Omit<CellNamesOptions, 'cells' | 'log'>;
    /** The cells' proxies (cell-proxies.ts), which their agents start: stopped with local mode. */
    readonly proxies?: Pick<CellProxies, 'stop'>;
    /** @default JSON lines of local mode */
    readonly log?: Log;
  };
}

export interface LocalMode {
  readonly url: string;
  readonly tableName: string;
  readonly dynamodbEndpoint: string;
  readonly dynamodb: DynamoDBClient;
  readonly store: PolicyStore;
  readonly cells: CellRegistry;
  readonly issuer: LocalIssuer;
  readonly propagation?: LocalPropagation;
  /** The DynamoDB Local process we started, if any. */
  readonly dynamodbLocal?: DynamoDbLocal;
  stop(): Promise<void>;
}

export async function startLocalMode(options: LocalModeOptions): Promise<LocalMode> {
  const tableName = options.tableName ?? DEFAULT_TABLE_NAME;
  const progress = options.progress ?? (() => undefined);
  if (!options.dynamodbEndpoint) progress('starting DynamoDB Local (Java)');
  const dynamodbLocal = options.dynamodbEndpoint
    ? undefined
    : await startDynamoDbLocal({
        ...(options.inMemory ? {} : { dataDir: `${options.stateDir}/dynamodb` }),
        ...(options.dynamodbPort ? { port: options.dynamodbPort } : {}),
      });
  const endpoint = options.dynamodbEndpoint ?? dynamodbLocal?.endpoint ?? '';
  if (dynamodbLocal) progress(`DynamoDB Local up at ${endpoint}`);
  const dynamodb = new DynamoDBClient({ ...LOCAL_CLIENT_CONFIG, endpoint });
  options.onDynamoDbReady?.(endpoint, dynamodb);
  try {
    await ensureTable(dynamodb, tableName);
    progress(`table ${tableName} ready (streams on)`);
    const dependencies = storesFor(dynamodb, tableName);
    const issuer = await openLocalIssuer(options.stateDir);
    let url = '';
    const verifier = createJwtVerifier({
      // Resolved lazily: the JWKS lives on this very server, whose port is known only once it listens.
      get jwksUrl() {
        return new URL(options.jwt?.jwksUrl ?? `${url}${LOCAL_JWKS_PATH}`);
      },
      issuer: options.jwt?.issuer ?? LOCAL_ISSUER,
      audience: options.jwt?.audience ?? LOCAL_AUDIENCE,
    });
    // Bound once propagation runs, which starts after the server.
    let wakeStreamReader = (): void => {};
    const server = createApiGateway({
      routes: ROUTES.map((route) => ({
        method: route.method,
        path: route.path,
        scopes: route.scopes,
        ...(route.public ? { public: true } : {}),
        handler: createApiHandler(OPERATIONS[route.name], () => dependencies),
      })),
      verifier,
      publicDocuments: [{ path: LOCAL_JWKS_PATH, body: issuer.jwks }],
      ...(options.requestLog ? { requestLog: options.requestLog } : {}),
      onWritten: () => wakeStreamReader(),
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 8080, '127.0.0.1', () => resolve());
    });
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    progress(`API listening at ${url}`);
    // Before the first sync, so the cells' first refused connections are logged too.
    const cellLogging: CellLogging | undefined = options.propagation
      ? await startCellLogging({
          cells: options.propagation.cells,
          dir: `${options.stateDir}/cell-logs`,
          log: options.propagation.log ?? jsonLineLog({ service: LOCAL_SERVICE }),
        }).catch((error: unknown) => {
          server.closeAllConnections();
          server.close();
          throw error;
        })
      : undefined;
    // Before the first sync too: it follows the names document each sync writes.
    const cellNames: CellNames | undefined =
      options.propagation?.names === undefined
        ? undefined
        : startCellNames({
            ...options.propagation.names,
            cells: options.propagation.cells,
            log: options.propagation.log ?? jsonLineLog({ service: LOCAL_SERVICE }),
          });
    const propagation = options.propagation
      ? await startPropagation({
          dynamodb,
          dynamodbEndpoint: endpoint,
          tableName,
          stores: dependencies,
          cells: options.propagation.cells,
          runAgent: options.propagation.runAgent,
          failedBatchesDir: `${options.stateDir}/failed-batches`,
          ...(options.propagation.republishIntervalMs
            ? { republishIntervalMs: options.propagation.republishIntervalMs }
            : {}),
          ...(options.propagation.resyncIntervalMs ? { resyncIntervalMs: options.propagation.resyncIntervalMs } : {}),
          ...(options.propagation.log ? { log: options.propagation.log } : {}),
          ...(options.propagation.watchContainers === undefined
            ? {}
            : { watchContainers: options.propagation.watchContainers }),
        }).catch(async (error: unknown) => {
          await cellNames?.stop();
          await cellLogging?.stop();
          server.closeAllConnections();
          server.close();
          throw error;
        })
      : undefined;
    if (propagation) {
      wakeStreamReader = () => propagation.wake();
      const count = options.propagation?.cells.length ?? 0;
      progress(`stream reader on; syncing ${count} cell(s)`);
      // Not awaited: the API serves while the cells converge; the line says when they have.
      void propagation.dispatcher.idle().then(() => progress(`${count} cell(s) synced`));
    }
    return {
      url,
      tableName,
      dynamodbEndpoint: endpoint,
      dynamodb,
      store: dependencies.policies,
      cells: dependencies.cells,
      issuer,
      ...(dynamodbLocal ? { dynamodbLocal } : {}),
      ...(propagation ? { propagation } : {}),
      stop: async () => {
        await propagation?.stop();
        await options.propagation?.proxies?.stop();
        await cellNames?.stop();
        await cellLogging?.stop();
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        dynamodb.destroy();
        await dynamodbLocal?.stop();
      },
    };
  } catch (error) {
    dynamodb.destroy();
    await dynamodbLocal?.stop();
    throw error;
  }
}
