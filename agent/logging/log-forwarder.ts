// Follows ulogd's JSON output file like `tail -F` and writes each record enriched with the identity
// of its source container (enrich.ts). It polls: every `pollMs` it reads what the file gained, keeps
// a partial last line until its newline comes, starts over when the file was truncated, and when the
// path names a new file (rotation: renamed or removed and created again) it finishes the old one and
// reads the new one from its start. The containers file is read again whenever it changes. A line it
// cannot read is counted and skipped; nothing in either file stops it.
//
// With `proxyPort` it also takes the cell proxy's refusals (proxy-log.ts) as UDP datagrams on
// 127.0.0.1 of its namespace, at most PROXY_LINES_PER_SECOND a second per container, into the same output.
import { createSocket, type Socket } from 'node:dgram';
import { type FileHandle, open, readFile, stat } from 'node:fs/promises';
import { jsonText } from '../../core/domain/validation.js';
import { writeWhole } from '../write-whole.js';
import { type ContainerIdentity, enrichRecord, parseIdentities } from './enrich.js';
import { enrichProxyRecord } from './proxy-log.js';

/** As the kernel's deny log limit (deny-log.ts): a client retrying in a loop writes one line a second. */
export const PROXY_LINES_PER_SECOND = 1;

export interface ForwarderOptions {
  /** ulogd's JSON output (the `file` of ulogd-config.ts). */
  readonly input: string;
  /** The cell's container metadata store. */
  readonly containers: string;
  /** Receives the enriched lines of one poll, each ending in a newline. */
  readonly write: (text: string) => void | Promise<void>;
  /** Read an input file that exists at start from its start, not its end. @default false */
  readonly fromStart?: boolean;
  /**
   * Where the read position is kept (device, inode, offset of the next whole line), written after
   * each poll's lines are: a restart goes on from there when the input is the same file and not
   * shorter, and from the start of a file that replaced it, so the lines written while it was down
   * (a restart, a new build) are not lost. A crash between writing lines and the position writes
   * them again. Omitted, or unreadable: fromStart decides.
   */
  readonly positionFile?: string;
  /** @default 200 */
  readonly pollMs?: number;
  readonly now?: () => Date;
  /** Problems worth an operator's eye (a containers file that does not decode); one line each. */
  readonly warn?: (message: string) => void;
  /** Listen for the cell proxy's refusals on 127.0.0.1:proxyPort (UDP); omitted, none. */
  readonly proxyPort?: number;
}

export interface ForwarderStats {
  /** Enriched lines written. */
  readonly lines: number;
  /** Input lines that were not a ulogd packet record (or too long). */
  readonly unparseable: number;
  /** Records of another NFLOG prefix. */
  readonly otherPrefix: number;
  /** Times the containers file was read (the first one included). */
  readonly containerReloads: number;
  /** Times it could not be read or decoded (the identities before stay in use). */
  readonly containerErrors: number;
  /** Times the input was found truncated or replaced by a new file. */
  readonly inputRestarts: number;
  /** Proxy refusals written, dropped by the per-container limit, and datagrams that were no record. */
  readonly proxyLines: number;
  readonly proxyLimited: number;
  readonly proxyUnparseable: number;
}

export interface Forwarder {
  stats(): ForwarderStats;
  /** Reads what is left, writes it, and stops polling. */
  stop(): Promise<void>;
  /** One poll now (tests); resolves when its lines are written. */
  poll(): Promise<void>;
}

/** A line longer than this is no ulogd record (they are ~1 KB); it is dropped, never held in memory. */
export const MAX_LINE_BYTES = 64 * 1024;
const CHUNK_BYTES = 256 * 1024;

interface FileId {
  readonly dev: number;
  readonly ino: number;
}

const sameFile = (a: FileId, b: FileId): boolean => a.dev === b.dev && a.ino === b.ino;

/** A position file's device, inode and offset; undefined when missing or not one. */
async function readPosition(path: string): Promise<(FileId & { readonly at: number }) | undefined> {
  const text = await readFile(path, 'utf8').catch(() => '');
  const match = /^(\d{1,20}) (\d{1,20}) (\d{1,20})\n?$/.exec(text);
  if (match === null) return undefined;
  return { dev: Number(match[1]), ino: Number(match[2]), at: Number(match[3]) };
}

async function statOrUndefined(path: string) {
  try {
    return await stat(path);
  } catch {
    return undefined;
  }
}

export async function startForwarder(options: ForwarderOptions): Promise<Forwarder> {
  const pollMs = options.pollMs ?? 200;
  const warn = options.warn ?? (() => undefined);
  const stats = {
    lines: 0,
    unparseable: 0,
    otherPrefix: 0,
    containerReloads: 0,
    containerErrors: 0,
    inputRestarts: 0,
    proxyLines: 0,
    proxyLimited: 0,
    proxyUnparseable: 0,
  };
  let identities: ReadonlyMap<string, ContainerIdentity> = new Map();
  let containersSeen: string | undefined;

  let handle: FileHandle | undefined;
  let current: FileId | undefined;
  let position = 0;
  /** Bytes of a line whose newline has not come yet. */
  let partial: Buffer = Buffer.alloc(0);
  /** The rest of an over-long line is being skipped up to its newline. */
  let skippingLongLine = false;

  async function reloadContainers(): Promise<void> {
    const info = await statOrUndefined(options.containers);
    const version = info === undefined ? 'missing' : `${info.dev}:${info.ino}:${info.size}:${info.mtimeMs}`;
    if (version === containersSeen) return;
    containersSeen = version;
    stats.containerReloads += 1;
    try {
      identities = parseIdentities(await readFile(options.containers, 'utf8')).identities;
    } catch (error) {
      stats.containerErrors += 1;
      warn(
        `containers file ${options.containers} not read, identities unchanged: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }

  async function openInput(id: FileId, at: number): Promise<void> {
    await handle?.close().catch(() => undefined);
    handle = undefined;
    try {
      handle = await open(options.input, 'r');
    } catch {
      current = undefined;
      return;
    }
    const opened = await handle.stat();
    current = { dev: opened.dev, ino: opened.ino };
    // Whatever the path named a moment ago, read the file actually opened.
    position = sameFile(current, id) ? at : 0;
    partial = Buffer.alloc(0);
    skippingLongLine = false;
  }

  const out: string[] = [];

  function takeLine(bytes: Buffer): void {
    const text = bytes.toString('utf8').trim();
    if (text === '') return;
    const result = enrichRecord(text, identities, options.now);
    if (result.kind === 'line') {
      out.push(`${jsonText(result.line)}\n`);
      stats.lines += 1;
    } else if (result.kind === 'other-prefix') stats.otherPrefix += 1;
    else stats.unparseable += 1;
  }

  function take(chunk: Buffer): void {
    let start = 0;
    for (;;) {
      const newline = chunk.indexOf(0x0a, start);
      if (newline < 0) break;
      const piece = chunk.subarray(start, newline);
      if (skippingLongLine) skippingLongLine = false;
      else takeLine(partial.length === 0 ? piece : Buffer.concat([partial, piece]));
      partial = Buffer.alloc(0);
      start = newline + 1;
    }
    const rest = chunk.subarray(start);
    if (skippingLongLine) return;
    if (partial.length + rest.length > MAX_LINE_BYTES) {
      stats.unparseable += 1;
      partial = Buffer.alloc(0);
      skippingLongLine = true;
      return;
    }
    partial = partial.length === 0 ? Buffer.from(rest) : Buffer.concat([partial, rest]);
  }

  async function drain(): Promise<void> {
    if (handle === undefined) return;
    const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, CHUNK_BYTES, position);
      if (bytesRead === 0) return;
      position += bytesRead;
      take(buffer.subarray(0, bytesRead));
    }
  }

  async function followInput(): Promise<void> {
    const info = await statOrUndefined(options.input);
    if (current !== undefined && handle !== undefined) {
      // Truncated in place (copytruncate, `> file`): read it again from the start.
      const opened = await handle.stat();
      if (opened.size < position) {
        stats.inputRestarts += 1;
        position = 0;
        partial = Buffer.alloc(0);
        skippingLongLine = false;
      }
      await drain();
      if (info !== undefined && !sameFile(info, current)) {
        // Rotated: the old file is finished (drained above), the new one is read from its start.
        stats.inputRestarts += 1;
        await openInput(info, 0);
        await drain();
      }
      return;
    }
    if (info === undefined) return;
    await openInput(info, 0);
    await drain();
  }

  let savedPosition: string | undefined;
  async function savePosition(): Promise<void> {
    if (options.positionFile === undefined || current === undefined) return;
    const text = `${current.dev} ${current.ino} ${position - partial.length}\n`;
    if (text === savedPosition) return;
    await writeWhole(options.positionFile, text);
    savedPosition = text;
  }

  let running: Promise<void> = Promise.resolve();
  async function pollOnce(): Promise<void> {
    await reloadContainers();
    await followInput();
    if (out.length > 0) {
      const text = out.join('');
      out.length = 0;
      await options.write(text);
    }
    await savePosition();
  }
  const poll = (): Promise<void> => {
    running = running.then(pollOnce, pollOnce);
    return running;
  };

  /** Per source address: the second its last lines fell in, and how many. */
  const proxyWindow = new Map<string, { second: number; count: number }>();
  function takeProxyDatagram(datagram: Buffer): void {
    const line = enrichProxyRecord(datagram.toString('utf8').trim(), identities, options.now);
    if (line === undefined) {
      stats.proxyUnparseable += 1;
      return;
    }
    const second = Math.floor((options.now ?? (() => new Date()))().getTime() / 1000);
    const window = proxyWindow.get(line.data.request.src_ip);
    if (window !== undefined && window.second === second && window.count >= PROXY_LINES_PER_SECOND) {
      stats.proxyLimited += 1;
      return;
    }
    proxyWindow.set(line.data.request.src_ip, { second, count: window?.second === second ? window.count + 1 : 1 });
    // Bounded: one entry per container address seen this second or before; old ones are dropped.
    if (proxyWindow.size > 10_000) proxyWindow.clear();
    out.push(`${jsonText(line)}\n`);
    stats.proxyLines += 1;
  }
  let socket: Socket | undefined;
  if (options.proxyPort !== undefined) {
    const listening = createSocket('udp4');
    listening.on('message', takeProxyDatagram);
    await new Promise<void>((resolve) => {
      listening.once('error', (error) => {
        warn(`cannot listen for the cell proxy's refusals on 127.0.0.1:${options.proxyPort}: ${error.message}`);
        listening.close();
        resolve();
      });
      listening.bind(options.proxyPort, '127.0.0.1', () => {
        socket = listening;
        resolve();
      });
    });
  }

  // Start: where the last run stopped (positionFile); else an input that already exists is followed
  // from its end, as `tail -F` does.
  await reloadContainers();
  const initial = await statOrUndefined(options.input);
  const saved = options.positionFile === undefined ? undefined : await readPosition(options.positionFile);
  if (initial !== undefined) {
    const start =
      saved === undefined
        ? options.fromStart === true
          ? 0
          : initial.size
        : sameFile(saved, initial) && saved.at <= initial.size
          ? saved.at
          : 0;
    await openInput(initial, start);
  }

  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const schedule = (): void => {
    timer = setTimeout(() => {
      poll()
        .catch((error: unknown) => warn(`poll failed: ${error instanceof Error ? error.message : String(error)}`))
        .finally(() => {
          if (!stopped) schedule();
        });
    }, pollMs);
  };
  schedule();

  return {
    stats: () => ({ ...stats }),
    poll,
    async stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      socket?.close();
      await poll().catch(() => undefined);
      await handle?.close().catch(() => undefined);
      handle = undefined;
    },
  };
}
