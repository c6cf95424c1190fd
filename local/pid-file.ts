// Who owns a local-mode folder: `npm start` claims `<state dir>/local-mode.pid` before it touches
// anything, and records there its own pid, its URL and its DynamoDB Local. A second start in the same
// folder finds a live owner and refuses, naming it; a start after a crash finds a dead owner and ends
// the DynamoDB Local it left behind (a JVM that outlived its parent), then carries on.
//
// Processes are named by pid and start time (/proc/<pid>/stat), so a pid the system has since
// given to another process is never mistaken for ours. The claim is atomic (a complete file is
// hard-linked into place, which fails if one exists), so two starts at once cannot both win.
import { linkSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const PID_FILE = 'local-mode.pid';
/** The file of earlier versions: the bare pid of their DynamoDB Local. */
const LEGACY_PID_FILE = 'dynamodb-local.pid';

/** A process as the kernel knows it: pid plus start time (clock ticks since boot). */
export interface ProcessIdentity {
  readonly pid: number;
  readonly startTime: string;
}

interface OwnerRecord extends ProcessIdentity {
  /** The API's base URL, once it listens. */
  readonly url?: string;
  readonly dynamodbLocal?: ProcessIdentity;
}

/** A live `npm start` that owns the folder. */
export interface RunningInstance {
  readonly pid: number;
  /** Undefined while it is still starting. */
  readonly url?: string;
}

export interface PidFileOwner {
  /** Adds what is known once started; the file always stays complete. */
  record(facts: { readonly url?: string; readonly dynamodbLocalPid?: number }): void;
  /** Gives the folder up (only if the file still names this process). */
  release(): void;
}

export type PidFileClaim =
  | { readonly ok: true; readonly owner: PidFileOwner }
  | { readonly ok: false; readonly running: RunningInstance };

/** Pid and start time of a live (not zombie) process, undefined if there is none. */
export function processIdentity(pid: number): ProcessIdentity | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // Fields after the command name, which is in parentheses and may hold spaces: state is field 3,
  // start time field 22.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const [state, startTime] = [fields[0], fields[19]];
  if (state === undefined || startTime === undefined || state === 'Z' || state === 'X') return undefined;
  return { pid, startTime };
}

const isAlive = (identity: ProcessIdentity | undefined): boolean =>
  identity !== undefined && processIdentity(identity.pid)?.startTime === identity.startTime;

function isDynamoDbLocal(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('DynamoDBLocal.jar');
  } catch {
    return false;
  }
}

function endLeftOver(pid: number): void {
  console.error(`ending DynamoDB Local (pid ${pid}) left behind by an earlier run`);
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // It ended on its own in the meantime.
  }
}

function readRecord(file: string): OwnerRecord | undefined {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<OwnerRecord>;
    return typeof parsed.pid === 'number' && typeof parsed.startTime === 'string' ? (parsed as OwnerRecord) : undefined;
  } catch {
    return undefined;
  }
}

function endLegacyLeftOver(stateDir: string): void {
  const file = join(stateDir, LEGACY_PID_FILE);
  let pid: number;
  try {
    pid = Number(readFileSync(file, 'utf8').trim());
  } catch {
    return;
  }
  if (pid && isDynamoDbLocal(pid)) endLeftOver(pid);
  rmSync(file, { force: true });
}

function writeAtomically(file: string, record: OwnerRecord, place: (from: string, to: string) => void): void {
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(record)}\n`);
  try {
    place(temporary, file);
  } finally {
    rmSync(temporary, { force: true });
  }
}

/**
 * Claims the folder for this process. Refuses (ok: false) while another live process owns it; ends
 * what a dead owner left behind.
 */
export function claimPidFile(stateDir: string): PidFileClaim {
  mkdirSync(stateDir, { recursive: true });
  const file = join(stateDir, PID_FILE);
  const self = processIdentity(process.pid);
  if (!self) throw new Error(`cannot read /proc/${process.pid}/stat`);
  let record: OwnerRecord = self;
  // A stale file is removed, then the claim must succeed or meet a live owner (a few rounds, for races).
  for (let round = 0; round < 3; round += 1) {
    try {
      writeAtomically(file, record, linkSync);
      endLegacyLeftOver(stateDir);
      return {
        ok: true,
        owner: ownerOf(
          file,
          () => record,
          (next) => (record = next),
        ),
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const existing = readRecord(file);
    if (existing && isAlive(existing)) {
      return { ok: false, running: { pid: existing.pid, ...(existing.url ? { url: existing.url } : {}) } };
    }
    const database = existing?.dynamodbLocal;
    if (database && isAlive(database) && isDynamoDbLocal(database.pid)) endLeftOver(database.pid);
    rmSync(file, { force: true });
  }
  throw new Error(`could not claim ${file}: it keeps changing`);
}

/**
 * The live `npm start` that owns `stateDir`, if any (its URL once it listens): how egressctl finds
 * local mode's API without being told. Reads only; a stale file (a crashed run) counts as none.
 */
export function runningInstance(stateDir: string): RunningInstance | undefined {
  const record = readRecord(join(stateDir, PID_FILE));
  if (!record || !isAlive(record)) return undefined;
  return { pid: record.pid, ...(record.url ? { url: record.url } : {}) };
}

function ownerOf(file: string, current: () => OwnerRecord, update: (next: OwnerRecord) => void): PidFileOwner {
  const stillOurs = (): boolean => readRecord(file)?.pid === process.pid;
  return {
    record(facts) {
      if (!stillOurs()) return;
      const dynamodbLocal = facts.dynamodbLocalPid === undefined ? undefined : processIdentity(facts.dynamodbLocalPid);
      const next: OwnerRecord = {
        ...current(),
        ...(facts.url ? { url: facts.url } : {}),
        ...(dynamodbLocal ? { dynamodbLocal } : {}),
      };
      update(next);
      writeAtomically(file, next, renameSync);
    },
    release() {
      if (stillOurs()) rmSync(file, { force: true });
    },
  };
}
