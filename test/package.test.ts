// `npm ci` must not warn that a dependency needs a newer Node than the one package.json (and the
// README) name: every locked package's engines.node must admit our lowest version.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';

const lockSchema = z.object({
  packages: z.record(z.string(), z.object({ engines: z.optional(z.object({ node: z.optional(z.string()) })) })),
});
const packageSchema = z.object({ engines: z.object({ node: z.string() }) });

type Version = [number, number, number];

function parseVersion(text: string): Version {
  const [major = 0, minor = 0, patch = 0] = text.split('.').map(Number);
  return [major, minor, patch];
}

function compare(a: Version, b: Version): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

/** Whether `version` satisfies an engines range of the forms npm packages use here (`||` of `^x.y.z`, `>=x.y`, `x`, `*`). */
function satisfies(version: Version, range: string): boolean {
  return range.split('||').some((part) => {
    // `>= 18.0.0` is `>=18.0.0`: join each operator to its version before splitting on spaces.
    const alternative = part.trim().replace(/(>=|<=|>|<|=|\^)\s+/g, '$1');
    if (alternative === '*' || alternative === '') return true;
    return alternative.split(/\s+/).every((comparator) => {
      const match = /^(\^|>=|>|<=|<|=)?\s*v?(\d+(?:\.\d+){0,2})$/.exec(comparator);
      if (match === null) throw new Error(`engines range not understood: ${range}`);
      const bound = parseVersion(match[2] ?? '');
      const order = compare(version, bound);
      switch (match[1]) {
        case '^':
          return version[0] === bound[0] && order >= 0;
        case '>=':
          return order >= 0;
        case '>':
          return order > 0;
        case '<=':
          return order <= 0;
        case '<':
          return order < 0;
        default:
          // A bare `20` or `20.1` means that major (and minor) line.
          return match[2]?.split('.').every((digit, index) => Number(digit) === version[index]) ?? false;
      }
    });
  });
}

describe('engines', () => {
  it('understands the ranges it checks', () => {
    expect(satisfies([20, 19, 0], '^20.19.0 || >=22.12.0')).toBe(true);
    expect(satisfies([20, 18, 9], '^20.19.0 || >=22.12.0')).toBe(false);
    expect(satisfies([20, 19, 0], '>=22.22.2')).toBe(false);
    expect(satisfies([20, 19, 0], '18 || 20 || >=22')).toBe(true);
    expect(satisfies([21, 0, 0], '18 || 20 || >=22')).toBe(false);
    expect(satisfies([20, 19, 0], '>= 18.0.0')).toBe(true);
  });

  it('every locked package runs on the lowest Node that package.json names', () => {
    const ours = packageSchema.parse(JSON.parse(readFileSync('package.json', 'utf8'))).engines.node;
    const lowest = /^>=\s*(\d+(?:\.\d+){0,2})$/.exec(ours)?.[1];
    expect(lowest, `package.json engines.node should read >=X.Y, got ${ours}`).toBeDefined();
    const lock = lockSchema.parse(JSON.parse(readFileSync('package-lock.json', 'utf8')));
    const refusing = Object.entries(lock.packages)
      .filter(([, entry]) => entry.engines?.node !== undefined)
      .filter(([, entry]) => !satisfies(parseVersion(lowest ?? '0'), entry.engines?.node ?? '*'))
      .map(([name, entry]) => `${name}: ${entry.engines?.node}`);
    expect(refusing).toEqual([]);
  });
});
