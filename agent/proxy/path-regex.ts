// The path regexes an HTTP route may carry: a small subset of regex syntax that PCRE2 (HAProxy) and
// JavaScript read alike, that cannot break out of a quoted configuration word, and that cannot make a
// backtracking matcher blow up. Checked by a parser, not by trying the regex: what is not in the
// subset is refused with a reason, never escaped.
//
// The subset: literal path characters, `.`, classes (`[a-z0-9_]`, `[^/]`, `\d`, `\w`), groups with
// alternation (`(get|post)`), quantifiers `* + ? {n} {n,} {n,m}` (m ≤ MAX_REPEAT), `^` first and `$`
// last. Refused: back-references, look-around and every other `(?` form, lazy or possessive
// quantifiers, a quantified group holding a quantifier, an alternation or a group (`(a+)+`, `(a|ab)*`:
// the exponential cases), more than MAX_UNBOUNDED unbounded quantifiers (each one multiplies the
// work on a long path), quotes, spaces, `#`, control characters and anything else not listed.
// The proxy matches the regex against the whole path (`anchoredPathRegex`).

export const MAX_PATH_REGEX_LENGTH = 256;
export const MAX_UNBOUNDED = 4;
export const MAX_REPEAT = 255;
const MAX_GROUP_DEPTH = 4;

/** Path characters that stand for themselves outside a class (RFC 3986 pchar, minus quotes and `$`). */
const LITERAL = /^[A-Za-z0-9/_~%!&=,;:@-]$/;
/** Inside a class: the same and `.`. */
const CLASS_LITERAL = /^[A-Za-z0-9/_~%!&=,;:@.]$/;
/** What a backslash may escape outside a class: regex punctuation only (`\d` and `\w` are classes). */
const ESCAPABLE = new Set(['.', '+', '*', '?', '(', ')', '[', ']', '{', '}', '|', '^', '$', '/', '-']);
const CLASS_ESCAPABLE = new Set(['.', '-', ']', '/', '^', '[']);

class RegexProblem extends Error {}

interface Group {
  quantified: boolean;
  alternation: boolean;
  group: boolean;
}

/** Why `regex` is not in the subset, or undefined. */
export function pathRegexProblem(regex: string): string | undefined {
  if (regex.length === 0) return 'must not be empty';
  if (regex.length > MAX_PATH_REGEX_LENGTH) return `must be at most ${MAX_PATH_REGEX_LENGTH} characters`;
  try {
    checkSubset(body(regex));
  } catch (error) {
    if (error instanceof RegexProblem) return error.message;
    throw error;
  }
  try {
    new RegExp(anchoredPathRegex(regex));
  } catch {
    return 'is not a valid regular expression';
  }
  return undefined;
}

/** `^(?:…)$` around the regex without its own anchors: the whole path must match. */
export function anchoredPathRegex(regex: string): string {
  return `^(?:${body(regex)})$`;
}

function body(regex: string): string {
  let text = regex.startsWith('^') ? regex.slice(1) : regex;
  if (text.endsWith('$') && !text.endsWith('\\$')) text = text.slice(0, -1);
  return text;
}

function checkSubset(text: string): void {
  let index = 0;
  let unbounded = 0;
  const stack: Group[] = [{ quantified: false, alternation: false, group: false }];
  /** What the last atom was, for a quantifier that follows: a group's own summary, or a plain atom. */
  let last: { group?: Group } | undefined;
  const top = (): Group => stack[stack.length - 1] as Group;
  const fail = (what: string): never => {
    throw new RegexProblem(`${what} (at position ${index + 1})`);
  };

  while (index < text.length) {
    const char = text.charAt(index);
    if (char === '\\') {
      const next = text.charAt(index + 1);
      if (next !== 'd' && next !== 'w' && !ESCAPABLE.has(next)) {
        fail(`must not use \`\\${next}\`: only \\d, \\w and escaped punctuation are allowed`);
      }
      index += 2;
      last = {};
    } else if (char === '[') {
      index = checkClass(text, index, fail);
      last = {};
    } else if (char === '(') {
      if (text.charAt(index + 1) === '?') fail('must not use `(?`: no look-around, named groups or flags');
      if (stack.length > MAX_GROUP_DEPTH) fail(`must not nest groups deeper than ${MAX_GROUP_DEPTH}`);
      top().group = true;
      stack.push({ quantified: false, alternation: false, group: false });
      index += 1;
      last = undefined;
    } else if (char === ')') {
      if (stack.length === 1) fail('must not close a group it did not open');
      const closed = stack.pop() as Group;
      // What a group holds counts for the groups around it too.
      top().quantified ||= closed.quantified;
      top().alternation ||= closed.alternation;
      index += 1;
      last = { group: closed };
    } else if (char === '|') {
      top().alternation = true;
      index += 1;
      last = undefined;
    } else if (char === '*' || char === '+' || char === '?' || char === '{') {
      if (last === undefined) fail('must not put a quantifier where nothing precedes it, or one after another');
      const end = char === '{' ? text.indexOf('}', index) : index;
      let isUnbounded = char === '*' || char === '+';
      if (char === '{') {
        const bounds = /^\{(\d{1,3})(,(\d{0,3}))?\}$/.exec(end < 0 ? '' : text.slice(index, end + 1));
        if (bounds === null) fail('must write a repeat as {n}, {n,} or {n,m}');
        const min = Number(bounds?.[1]);
        const max = bounds?.[2] === undefined ? min : bounds[3] === '' ? undefined : Number(bounds?.[3]);
        if (min > MAX_REPEAT || (max !== undefined && (max > MAX_REPEAT || max < min))) {
          fail(`must repeat at most ${MAX_REPEAT} times, with n ≤ m`);
        }
        isUnbounded = max === undefined;
      }
      const group = last?.group;
      if (group !== undefined && (group.quantified || group.alternation || group.group)) {
        fail('must not repeat a group that holds a quantifier, an alternation or a group (exponential backtracking)');
      }
      if (isUnbounded) {
        unbounded += 1;
        if (unbounded > MAX_UNBOUNDED)
          fail(`must not use more than ${MAX_UNBOUNDED} unbounded quantifiers (*, +, {n,})`);
      }
      top().quantified = true;
      index = end + 1;
      last = undefined;
    } else if (char === '.' || LITERAL.test(char)) {
      index += 1;
      last = {};
    } else if (char === '^' || char === '$') {
      fail('may use `^` only first and `$` only last');
    } else {
      fail(`must not contain ${JSON.stringify(char)}`);
    }
  }
  if (stack.length !== 1) throw new RegexProblem('must close every group it opens');
}

/** Checks a class starting at `start` (`[`); returns the index after its `]`. */
function checkClass(text: string, start: number, fail: (what: string) => never): number {
  let index = start + 1;
  if (text.charAt(index) === '^') index += 1;
  let items = 0;
  while (index < text.length && text.charAt(index) !== ']') {
    const char = text.charAt(index);
    if (char === '\\') {
      const next = text.charAt(index + 1);
      if (next !== 'd' && next !== 'w' && !CLASS_ESCAPABLE.has(next)) fail(`must not use \`\\${next}\` in a class`);
      index += 2;
    } else if (CLASS_LITERAL.test(char)) {
      if (text.charAt(index + 1) === '-' && text.charAt(index + 2) !== ']') {
        const to = text.charAt(index + 2);
        const sameKind = [/[a-z]/, /[A-Z]/, /[0-9]/].some((kind) => kind.test(char) && kind.test(to));
        if (!sameKind || to < char) fail('must write a class range as a-z, A-Z or 0-9 parts, low to high');
        index += 3;
      } else {
        index += 1;
      }
    } else {
      fail(`must not contain ${JSON.stringify(char)} in a class (write a hyphen as \\-)`);
    }
    items += 1;
  }
  if (text.charAt(index) !== ']') fail('must close every class it opens');
  if (items === 0) fail('must not have an empty class');
  return index + 1;
}
