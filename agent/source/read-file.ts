// Reading an input file the agent was pointed at: a regular file of bounded size, or a ValidationError.
import { constants, type Stats } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { ValidationError } from '../../core/domain/errors.js';
import { quote } from '../../core/domain/validation.js';

/**
 * The largest input read. The biggest policies list the benchmark programs (1,000 containers × 200
 * policies: 200,000 policies) is about 40 MB of JSON; a cell's store of ~250 containers is ~100 KB.
 * Anything larger is a wrong path (a log, an image, a device), refused before it is held in memory
 * several times over (bytes, text, parsed tree, validated copy).
 */
export const MAX_INPUT_BYTES = 64 * 1024 * 1024;

const CHUNK_BYTES = 1024 * 1024;

function kindOf(stats: Stats): string {
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isSocket()) return 'a socket';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  return 'not a file';
}

/**
 * Reads to the end into one buffer of the size fstat gave (plus a chunk, so a file that grew since
 * is noticed without a copy), or returns undefined as soon as more than `maxBytes` came. One buffer,
 * filled in place: no chunks to concatenate (a 6 MB policies file read in 1 MB chunks spent as long
 * joining them as reading them).
 */
async function readAtMost(handle: FileHandle, maxBytes: number, expectedBytes: number): Promise<Buffer | undefined> {
  let buffer = Buffer.allocUnsafe(Math.min(maxBytes + 1, expectedBytes + CHUNK_BYTES));
  let total = 0;
  for (;;) {
    if (total === buffer.length) {
      const larger = Buffer.allocUnsafe(Math.min(maxBytes + 1, buffer.length * 2));
      buffer.copy(larger, 0, 0, total);
      buffer = larger;
    }
    const { bytesRead } = await handle.read(buffer, total, buffer.length - total, null);
    if (bytesRead === 0) return buffer.subarray(0, total);
    total += bytesRead;
    if (total > maxBytes) return undefined;
  }
}

/**
 * The file's text (UTF-8). Refuses anything that is not a regular file: a FIFO would block the sync
 * until some writer came (forever, on a cell), a device may never end. O_NONBLOCK keeps open() itself
 * from waiting for a FIFO's writer; it changes nothing for a regular file. The type is taken from the
 * opened descriptor (fstat), so the file checked is the file read.
 */
export async function readInputFile(label: string, path: string, maxBytes = MAX_INPUT_BYTES): Promise<string> {
  const where = `${label}: ${quote(path)}`;
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    throw new ValidationError(`${label}: cannot read ${quote(path)}: ${errorCode(error)}`);
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw new ValidationError(`${where} is ${kindOf(stats)}, not a regular file`);
    const tooBig = `${where} is larger than ${maxBytes} bytes, the most an input may have`;
    if (stats.size > maxBytes) throw new ValidationError(tooBig);
    const bytes = await readAtMost(handle, maxBytes, stats.size);
    if (bytes === undefined) throw new ValidationError(tooBig);
    return bytes.toString('utf8');
  } catch (error) {
    if (error instanceof ValidationError) throw error;
    throw new ValidationError(`${label}: cannot read ${quote(path)}: ${errorCode(error)}`);
  } finally {
    await handle.close();
  }
}

function errorCode(error: unknown): string {
  if (error instanceof Error) return ('code' in error && typeof error.code === 'string' && error.code) || error.message;
  return String(error);
}
