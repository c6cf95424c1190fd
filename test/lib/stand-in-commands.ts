// For tests of the cells' shell steps: a folder of stand-in commands (systemctl, ulogd, …) to put
// first on a script's PATH.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** `<dir>/bin` holding one sh script per command, each running its body. Returns the folder. */
export function standInCommands(dir: string, commands: Record<string, string>): string {
  const folder = join(dir, 'bin');
  mkdirSync(folder, { recursive: true });
  for (const [name, body] of Object.entries(commands)) {
    writeFileSync(join(folder, name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(folder, name), 0o755);
  }
  return folder;
}
