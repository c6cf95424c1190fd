// Plain-text tables for people: a header row and columns padded to their widest cell. Cells are
// shown with control and bidirectional characters escaped, so a name cannot rearrange the terminal.
import { escapeNonPrinting } from '../core/domain/validation.js';

export function renderTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const cells = rows.map((row) => row.map((cell) => escapeNonPrinting(cell)));
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...cells.map((row) => (row[column] ?? '').length)),
  );
  const line = (row: readonly string[]): string =>
    row
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join('  ')
      .trimEnd();
  return `${[line(headers), ...cells.map(line)].join('\n')}\n`;
}
