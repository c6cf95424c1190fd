// Remembers the DynamoDB Local process of a running `npm start`, so that the next start after a
// crash (where the JVM outlived its parent) can end it instead of failing on a locked database.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const PID_FILE = 'dynamodb-local.pid';

function isDynamoDbLocal(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('DynamoDBLocal.jar');
  } catch {
    return false;
  }
}

export interface PidFileRelease {
  (): void;
  record(pid: number): void;
}

/** Ends a DynamoDB Local left behind by an earlier run, then returns a handle to record ours. */
export function claimPidFile(stateDir: string): PidFileRelease {
  const file = join(stateDir, PID_FILE);
  let stale: number | undefined;
  try {
    stale = Number(readFileSync(file, 'utf8').trim());
  } catch {
    stale = undefined;
  }
  if (stale && isDynamoDbLocal(stale)) {
    console.error(`ending DynamoDB Local (pid ${stale}) left behind by an earlier run`);
    try {
      process.kill(stale, 'SIGKILL');
    } catch {
      // It ended on its own in the meantime.
    }
  }
  const release = (() => rmSync(file, { force: true })) as PidFileRelease;
  release.record = (pid: number) => {
    mkdirSync(stateDir, { recursive: true });
    writeFileSync(file, String(pid));
  };
  return release;
}
