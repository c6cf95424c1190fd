/** Tells the cells to converge. SSM Run Command in AWS; the local dispatcher in local mode. */
export interface CellCommander {
  /** Ask every cell to sync to at least `minVersion`. Resolves once the request is accepted, not applied. */
  syncCells(minVersion: number): Promise<void>;
}
