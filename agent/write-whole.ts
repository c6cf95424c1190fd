// Writing a file whole: this process's temporary file beside it, renamed over it, so a reader sees the
// old content or the new one, never a part (and the file's inode changes, which watchers follow).
// Readable by root only (0600). Callers make the folder.
import { renameSync, writeFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';

const temporaryOf = (path: string): string => `${path}.${process.pid}.tmp`;

export async function writeWhole(path: string, data: string | Uint8Array): Promise<void> {
  const temporary = temporaryOf(path);
  await writeFile(temporary, data, { mode: 0o600 });
  await rename(temporary, path);
}

export function writeWholeSync(path: string, data: string | Uint8Array): void {
  const temporary = temporaryOf(path);
  writeFileSync(temporary, data, { mode: 0o600 });
  renameSync(temporary, path);
}
