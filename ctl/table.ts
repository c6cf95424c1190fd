// Plain-text tables for people: a header row and columns padded to their widest cell. Cells are
// shown with control and bidirectional characters escaped, so a name cannot rearrange the terminal.
import { escapeNonPrinting } from '../core/domain/validation.js';

export function renderTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const cells = rows.map((row) => row.map((cell) => escapeNonPrinting(cell)));
  // A loop, not Math.max(...cells): a list of 200,000 rows would overflow the call stack as arguments.
  const widths = headers.map((header, column) =>
    cells.reduce((widest, row) => Math.max(widest, (row[column] ?? '').length), header.length),
  );
  const line = (row: readonly string[]): string =>
    row
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join('  ')
      .trimEnd();
  return `${[line(headers), ...cells.map(line)].join('\n')}\n`;
}
