import { cellList } from '../../../core/domain/cells.js';
import { type CellStores, cellStoresFromEnvironment } from '../../shared/cell-stores-environment.js';
import { createApiHandler } from '../api-handler.js';
import type { Operation } from '../types.js';

/** Not part of CF's API: which policy version each cell enforces, so operators can see a change land everywhere. */
export const listCells: Operation<CellStores> = async (_request, { cells }) => {
  const [reports, current, log] = await Promise.all([cells.list(), cells.currentVersion(), cells.changeLog?.()]);
  return { statusCode: 200, body: cellList(reports, current, new Date(), log) };
};

export const handler = createApiHandler(listCells, cellStoresFromEnvironment);
