// `--policies -`: standard input read whole, bounded like an input file.
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readStdin } from '../../agent/read-stdin.js';
import { ValidationError } from '../../core/domain/errors.js';

describe('readStdin', () => {
  it('joins the chunks as UTF-8, a character split across two', async () => {
    const bytes = Buffer.from('{"é": 1}');
    const input = Readable.from([bytes.subarray(0, 3), bytes.subarray(3)]);
    expect(await readStdin('--policies', input)).toBe('{"é": 1}');
  });

  it('refuses more than the bound, and no stdin at all', async () => {
    await expect(readStdin('--policies', Readable.from(['12345', '678']), 7)).rejects.toThrow(
      new ValidationError('--policies: standard input is larger than 7 bytes, the most an input may have'),
    );
    expect(await readStdin('--policies', Readable.from(['1234567']), 7)).toBe('1234567');
    await expect(readStdin('--policies', undefined)).rejects.toThrow(ValidationError);
  });
});
