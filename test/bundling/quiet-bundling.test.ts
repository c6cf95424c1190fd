// withQuietBundling drops exactly CDK's "Bundling asset …" line while the wrapped constructor runs,
// lets every other write through, restores stderr afterwards (also on a throw), and stays out of the
// way when bundling is verbose.
import { afterEach, describe, expect, it } from 'vitest';
import {
  BUNDLING_VERBOSE_ENV,
  bundlingLogLevel,
  bundlingVerbose,
  isCdkBundlingLine,
  withQuietBundling,
} from '../../bundling/quiet-bundling.js';

const original = process.stderr.write;
afterEach(() => {
  process.stderr.write = original;
});

/** Replaces stderr.write by a recorder (what reaches the terminal) and returns what it recorded. */
function recordStderr(): string[] {
  const written: string[] = [];
  process.stderr.write = ((chunk: string | Uint8Array) => {
    written.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString());
    return true;
  }) as typeof process.stderr.write;
  return written;
}

const CDK_LINE = 'Bundling asset DynamicEgress/Api/ListCells/Function/Code/Stage...\n';

describe('bundlingVerbose / bundlingLogLevel', () => {
  it('is quiet by default, verbose with DYNEG_BUNDLING_VERBOSE=1 or CDK_DEBUG=true (cdk synth --debug-app)', () => {
    expect(bundlingVerbose({})).toBe(false);
    expect(bundlingVerbose({ [BUNDLING_VERBOSE_ENV]: '0' })).toBe(false);
    expect(bundlingVerbose({ [BUNDLING_VERBOSE_ENV]: '' })).toBe(false);
    expect(bundlingVerbose({ [BUNDLING_VERBOSE_ENV]: '1' })).toBe(true);
    expect(bundlingVerbose({ CDK_DEBUG: 'true' })).toBe(true);
    expect(bundlingLogLevel({})).toBe('warning');
    expect(bundlingLogLevel({ [BUNDLING_VERBOSE_ENV]: '1' })).toBe('info');
  });
});

describe('isCdkBundlingLine', () => {
  it('matches the whole line CDK writes, as text or bytes, and nothing else', () => {
    expect(isCdkBundlingLine(CDK_LINE)).toBe(true);
    expect(isCdkBundlingLine(Buffer.from(CDK_LINE))).toBe(true);
    expect(isCdkBundlingLine('Bundling asset X...\nsomething else\n')).toBe(false);
    expect(isCdkBundlingLine('Bundling asset X failed\n')).toBe(false);
    expect(isCdkBundlingLine('✘ [ERROR] Could not resolve "x"\n')).toBe(false);
  });
});

describe('withQuietBundling', () => {
  it('drops the CDK line, passes everything else, returns the result and restores stderr', () => {
    const written = recordStderr();
    const recorder = process.stderr.write;
    const result = withQuietBundling(() => {
      process.stderr.write(CDK_LINE);
      process.stderr.write('▲ [WARNING] a real warning\n');
      return 42;
    }, {});
    expect(result).toBe(42);
    expect(written).toEqual(['▲ [WARNING] a real warning\n']);
    expect(process.stderr.write).toBe(recorder);
    process.stderr.write(CDK_LINE);
    expect(written).toEqual(['▲ [WARNING] a real warning\n', CDK_LINE]);
  });

  it('calls the write callback of a dropped line (a caller waiting on it is not left hanging)', () => {
    recordStderr();
    let called = false;
    withQuietBundling(() => process.stderr.write(CDK_LINE, () => (called = true)), {});
    expect(called).toBe(true);
  });

  it('restores stderr when the constructor throws, and the error propagates', () => {
    recordStderr();
    const recorder = process.stderr.write;
    expect(() =>
      withQuietBundling(() => {
        throw new Error('bundling failed');
      }, {}),
    ).toThrow('bundling failed');
    expect(process.stderr.write).toBe(recorder);
  });

  it('lets the CDK line through when bundling is verbose', () => {
    const written = recordStderr();
    withQuietBundling(() => process.stderr.write(CDK_LINE), { [BUNDLING_VERBOSE_ENV]: '1' });
    expect(written).toEqual([CDK_LINE]);
  });
});
