// The path-regex subset reads the same in PCRE2 (what the cell's HAProxy runs: Debian's haproxy is
// built against PCRE2 10.42, as pcre2-utils is) as in JavaScript (what the API and explain run):
// random regexes drawn from the subset's grammar, each tried on random paths and on paths made to
// match it, compared path by path between `pcre2grep` and RegExp, anchored as the proxy anchors them.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { anchoredPathRegex, pathRegexProblem } from '../../../core/domain/path-regex.js';

function pcre2grepAvailable(): boolean {
  const result = spawnSync('pcre2grep', ['--version'], { stdio: 'ignore' });
  if (result.error === undefined && result.status === 0) return true;
  const problem = 'pcre2grep is missing (apt-get install pcre2-utils)';
  if (process.env.CI === 'true') throw new Error(problem);
  console.warn(`PCRE2 comparison not run: ${problem}`);
  return false;
}

/** A seeded generator, so a failure names a regex that fails again on the next run. */
function random(seed: number): (below: number) => number {
  let state = seed;
  return (below) => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return Math.floor((state / 2147483648) * below);
  };
}

/** A regex of the subset's grammar (path-regex.ts) and a way to make a path it matches. */
interface Generated {
  readonly text: string;
  readonly sample: () => string;
}

const LITERALS = ['a', 'b', 'Z', '0', '7', '/', '-', '_', '~', '%', '!', ',', ';', '=', ':', '@', '&'];
const PATH_CHARS = ['a', 'A', 'b', 'c', 'z', 'Z', '0', '7', '9', '/', '-', '_', '.', '%', '~', 'x', '+', '(', '|'];

function generator(next: (below: number) => number) {
  const pick = <T>(list: readonly T[]): T => {
    const value = list[next(list.length)];
    if (value === undefined) throw new Error('empty list');
    return value;
  };

  const literal = (): Generated => {
    const char = pick(LITERALS);
    return { text: char, sample: () => char };
  };

  const dot = (): Generated => ({ text: '.', sample: () => pick(PATH_CHARS) });

  const characterClass = (): Generated => {
    const members: { text: string; chars: string[] }[] = [];
    for (let count = 1 + next(3); count > 0; count -= 1) {
      const kind = next(4);
      if (kind === 0) members.push({ text: 'a-c', chars: ['a', 'b', 'c'] });
      else if (kind === 1) members.push({ text: '0-9', chars: ['0', '7', '9'] });
      else if (kind === 2) {
        const char = pick(['.', '+', '(', '|', '*', '?']);
        members.push({ text: char, chars: [char] });
      } else {
        const char = pick(LITERALS.filter((c) => c !== '-'));
        members.push({ text: char, chars: [char] });
      }
    }
    const negated = next(4) === 0;
    const inside = members.flatMap((member) => member.chars);
    const outside = PATH_CHARS.filter((char) => !inside.includes(char));
    return {
      text: `[${negated ? '^' : ''}${members.map((member) => member.text).join('')}]`,
      sample: () => (negated ? pick(outside.length > 0 ? outside : ['x']) : pick(inside)),
    };
  };

  const group = (depth: number): Generated => {
    const alternatives = Array.from({ length: 1 + next(3) }, () => sequence(depth + 1, 1 + next(3)));
    return {
      text: `(${alternatives.map((alternative) => alternative.text).join('|')})`,
      sample: () => pick(alternatives).sample(),
    };
  };

  const quantified = (atom: Generated): Generated => {
    const kind = next(9);
    const repeat = (low: number, high: number) => () =>
      Array.from({ length: low + next(high - low + 1) }, () => atom.sample()).join('');
    if (kind === 0) return { text: `${atom.text}*`, sample: repeat(0, 3) };
    if (kind === 1) return { text: `${atom.text}+`, sample: repeat(1, 3) };
    if (kind === 2) return { text: `${atom.text}?`, sample: repeat(0, 1) };
    if (kind === 3) {
      const n = 1 + next(3);
      return { text: `${atom.text}{${n}}`, sample: repeat(n, n) };
    }
    if (kind === 4) {
      const n = next(3);
      return { text: `${atom.text}{${n},}`, sample: repeat(n, n + 2) };
    }
    if (kind === 5) {
      const n = next(2);
      const m = n + next(3);
      return { text: `${atom.text}{${n},${m}}`, sample: repeat(n, m) };
    }
    return atom;
  };

  const item = (depth: number): Generated => {
    const kind = next(depth < 2 ? 7 : 6);
    const atom = kind < 3 ? literal() : kind === 3 ? dot() : kind < 6 ? characterClass() : group(depth);
    return quantified(atom);
  };

  function sequence(depth: number, length: number): Generated {
    const items = Array.from({ length }, () => item(depth));
    return {
      text: items.map((piece) => piece.text).join(''),
      sample: () => items.map((piece) => piece.sample()).join(''),
    };
  }

  return (): Generated => {
    const body = sequence(0, next(5));
    const start = next(3) === 0 ? '^' : '';
    const end = next(3) === 0 ? '$' : '';
    return { text: `${start}/${body.text}${end}`, sample: () => `/${body.sample()}` };
  };
}

const work = mkdtempSync(join(tmpdir(), 'dyneg-pcre2-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe.runIf(pcre2grepAvailable())('path regexes in PCRE2 and in JavaScript', () => {
  it('match exactly the same paths, for 400 random regexes of the subset', () => {
    const next = random(11);
    const regex = generator(next);
    let compared = 0;
    let matched = 0;
    let tried = 0;
    while (tried < 400) {
      const generated = regex();
      if (pathRegexProblem(generated.text) !== undefined) continue;
      tried += 1;
      const paths = new Set<string>();
      for (let n = 0; n < 20; n += 1) paths.add(generated.sample());
      for (let n = 0; n < 30; n += 1) {
        paths.add(`/${Array.from({ length: next(9) }, () => PATH_CHARS[next(PATH_CHARS.length)]).join('')}`);
      }
      const list = [...paths];
      const file = join(work, 'paths');
      writeFileSync(file, `${list.join('\n')}\n`);
      const anchored = anchoredPathRegex(generated.text);
      const result = spawnSync('pcre2grep', ['-e', anchored, file], { encoding: 'utf8' });
      // Exit 1 is "no line matched"; 2 is an error (a pattern PCRE2 refuses).
      expect(result.status, `${generated.text}: ${result.stderr}`).not.toBe(2);
      const byPcre2 = new Set(result.stdout.split('\n').filter((line) => line !== ''));
      const javascript = new RegExp(anchored);
      for (const path of list) {
        expect(byPcre2.has(path), `${generated.text} on ${path}`).toBe(javascript.test(path));
        compared += 1;
        if (javascript.test(path)) matched += 1;
      }
    }
    // Enough of both answers that a difference either way would have shown.
    expect(compared).toBeGreaterThan(12_000);
    expect(matched).toBeGreaterThan(3_000);
    expect(compared - matched).toBeGreaterThan(8_000);
  });
});
