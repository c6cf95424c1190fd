// How a failed command ends: one line, escaped, and bounded after escaping.
import { describe, expect, it } from 'vitest';
import { EXIT_APPLY_FAILED, reportFailure } from '../../agent/cli-failure.js';
import type { CliIo } from '../../agent/cli-io.js';
import { ApplyError } from '../../agent/errors.js';

function reported(error: unknown): { code: number; stderr: string } {
  let stderr = '';
  const io: CliIo = {
    stdout: () => undefined,
    stderr: (text) => {
      stderr += text;
    },
  };
  return { code: reportFailure(error, io), stderr };
}

describe('reportFailure', () => {
  it('bounds the line after escaping: 3,000 control characters do not grow it past the limit', () => {
    const { code, stderr } = reported(new ApplyError(`refused: ${'\u001b'.repeat(3000)}`, 'iptables-restore', ''));
    expect(code).toBe(EXIT_APPLY_FAILED);
    const [line = '', rest] = stderr.split('\n');
    expect(rest).toBe('');
    expect(line.length).toBeLessThan(3100);
    expect(line).toMatch(/^error: refused: (\\u001b)+… \(\d+ more characters\)$/);
    expect(line).not.toContain('\u001b');
  });

  it('never cuts an escape in two', () => {
    for (let pad = 0; pad < 12; pad += 1) {
      const { stderr } = reported(new ApplyError(`${'x'.repeat(pad)}${'\u202e\u{e0001}'.repeat(900)}`, 'c', ''));
      expect(stderr).toMatch(/(\\u202e|\\u\{e0001\}|^error: x*)… \(\d+ more characters\)\n$/);
    }
  });
});
