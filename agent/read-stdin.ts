// `--policies -`: the policies document from standard input, bounded as an input file is.
import { ValidationError } from '../core/domain/errors.js';
import { MAX_INPUT_BYTES } from './source/read-file.js';

/** All of `input` as UTF-8 text; a ValidationError naming `label` past `maxBytes` (read no further). */
export async function readStdin(
  label: string,
  input: AsyncIterable<Uint8Array | string> | undefined,
  maxBytes = MAX_INPUT_BYTES,
): Promise<string> {
  if (input === undefined) throw new ValidationError(`${label}: no standard input to read`);
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of input) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.from(chunk);
    total += bytes.length;
    if (total > maxBytes) {
      throw new ValidationError(
        `${label}: standard input is larger than ${maxBytes} bytes, the most an input may have`,
      );
    }
    chunks.push(bytes);
  }
  return Buffer.concat(chunks, total).toString('utf8');
}
