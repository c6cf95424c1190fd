/** Tells the cells to converge. SSM Run Command in AWS; the local dispatcher in local mode. */
export interface CellCommander {
  /**
   * Ask the cells named (every cell when `cells` is omitted) to sync to at least `minVersion`.
   * Resolves once the request is accepted, not applied. An empty list tells nobody.
   */
  syncCells(minVersion: number, cells?: readonly string[]): Promise<void>;
}
