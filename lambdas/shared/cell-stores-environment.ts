// The cells' reports on the table named by TABLE_NAME, once per container: all GET /cells needs, so
// its bundle holds no policy store.
import type { CellRegistry } from '../../core/domain/cells.js';
import { DynamoDbCellStatusStore } from '../../core/store/cell-status-store.js';
import { documentClient } from '../../core/store/document-client.js';
import { dynamoDbFromEnvironment, requiredEnv } from './environment.js';

export interface CellStores {
  readonly cells: CellRegistry;
}

let stores: CellStores | undefined;

export function cellStoresFromEnvironment(): CellStores {
  stores ??= {
    cells: new DynamoDbCellStatusStore(documentClient(dynamoDbFromEnvironment()), requiredEnv('TABLE_NAME')),
  };
  return stores;
}
