// The netns tests' way into the lab (local/lab/netns-lab.ts): its first cell, and the containers a test
// asked it for as a tuple of that length, checked once here instead of a cast in every test file.
import type { Lab, LabCell, LabContainer } from '../../local/lab/netns-lab.js';

type Tuple<T, N extends number, Built extends T[] = []> = Built['length'] extends N
  ? Built
  : Tuple<T, N, [...Built, T]>;

export function firstCell(lab: Lab): LabCell {
  const [cell] = lab.cells;
  if (cell === undefined) throw new Error('the lab has no cell');
  return cell;
}

/** The cell's first `count` containers; throws if it has fewer. */
export function containersOf<N extends number>(cell: LabCell, count: N): Tuple<LabContainer, N> {
  if (cell.containers.length < count) {
    throw new Error(`the lab's cell ${cell.ns} has ${cell.containers.length} containers, the test needs ${count}`);
  }
  const first: LabContainer[] = cell.containers.slice(0, count);
  // The length was checked just above; TypeScript cannot follow a runtime length into a tuple type.
  return first as Tuple<LabContainer, N>;
}
