// The regular expressions an http route may match request paths with (`path_regex`). They are
// handed to the cell's proxy (HAProxy, PCRE2) and may be evaluated here (JavaScript), so only a
// small subset both read the same way is accepted, checked by the parser below rather than by
// trying the text in one engine:
//
//   regex    := "^"? "/" item* "$"?          starts at the path's start (we anchor it: "^" is implied)
//   item     := atom quantifier?
//   atom     := literal | "." | class | "(" alternative ("|" alternative)* ")"
//   literal  := a-z A-Z 0-9 / - _ ~ % ! , ; = : @ &
//   class    := "[" "^"? member+ "]"          member: a literal, . + * ? ( ) |, or a range a-z, A-Z, 0-9
//                                             within one kind; "-" only first or last
//   quantifier := * | + | ? | {n} | {n,} | {n,m}   (n <= m <= 64)
//
// Refused: backslashes (so no escapes, classes like \d, or backreferences: write [.] for a dot),
// `(?` (lookaround, named groups, inline flags), lazy and possessive quantifiers, `|` outside a
// group (it would escape the anchor: `^/a|/b` lets `/b` match anywhere), quantified groups that hold
// a quantifier or `|` (nested quantifiers: the exponential cases), more than
// MAX_PATH_REGEX_QUANTIFIERS quantifiers or MAX_PATH_REGEX_UNBOUNDED unbounded ones (which bounds
// the polynomial cases), `$` anywhere but at the end, and any character outside the alphabet above
// (no whitespace, quotes, `#`, `$` inside, `{`/`}` as literals: the regex goes into a configuration
// line as it is).

/** The longest `path_regex`, in characters. */
export const MAX_PATH_REGEX_LENGTH = 256;
/** The most quantifiers (`*`, `+`, `?`, `{…}`) one `path_regex` may hold. */
export const MAX_PATH_REGEX_QUANTIFIERS = 4;
/** Of those, the most unbounded ones (`*`, `+`, `{n,}`). */
export const MAX_PATH_REGEX_UNBOUNDED = 2;
/** The largest count in `{n}`, `{n,}` or `{n,m}`. */
export const MAX_PATH_REGEX_REPEAT = 64;

const LITERAL = /^[A-Za-z0-9/\-_~%!,;=:@&]$/;
const CLASS_MEMBER = /^[A-Za-z0-9/\-_~%!,;=:@&.+*?()|]$/;
const RANGE_KINDS = [/^[a-z]$/, /^[A-Z]$/, /^[0-9]$/];

class RegexProblem extends Error {}

interface Counts {
  quantifiers: number;
  unbounded: number;
}

/** What one parsed piece holds, for the nesting rule. */
interface Piece {
  readonly quantified: boolean;
  readonly alternation: boolean;
}

class Parser {
  private position = 0;
  readonly counts: Counts = { quantifiers: 0, unbounded: 0 };

  constructor(private readonly text: string) {}

  private peek(): string | undefined {
    return this.text[this.position];
  }

  private fail(message: string): never {
    throw new RegexProblem(`${message} (at character ${this.position + 1})`);
  }

  /** The whole regex: `^`? then a sequence that starts with `/`, then `$`? at the very end. */
  parse(): void {
    if (this.peek() === '^') this.position += 1;
    if (this.peek() !== '/') this.fail('must start with "/" or "^/"');
    this.sequence(true);
    if (this.peek() === '$') {
      this.position += 1;
      if (this.position !== this.text.length) this.fail('may hold "$" only as its last character');
    }
    if (this.position !== this.text.length) {
      const char = this.peek();
      if (char === '|') this.fail('may use "|" only inside a group, e.g. ^/(a|b)');
      if (char === ')') this.fail('has a ")" that closes no group');
      this.fail(`must not hold ${JSON.stringify(char)}`);
    }
  }

  /** Items up to `|`, `)`, `$` or the end; returns what they hold. */
  private sequence(top: boolean): Piece {
    let quantified = false;
    let alternation = false;
    let items = 0;
    for (;;) {
      const char = this.peek();
      if (char === undefined || char === '|' || char === ')' || char === '$') break;
      const first = top && items === 0;
      const atom = this.atom();
      const quantifier = this.quantifier();
      if (first && quantifier) this.fail('must not repeat its leading "/"');
      if (quantifier && (atom.quantified || atom.alternation)) {
        this.fail(
          'must not repeat a group that holds a quantifier or "|" (nested quantifiers can take exponential time)',
        );
      }
      quantified ||= quantifier || atom.quantified;
      alternation ||= atom.alternation;
      items += 1;
    }
    if (items === 0) this.fail('must not hold an empty group or alternative');
    return { quantified, alternation };
  }

  private atom(): Piece {
    const char = this.peek();
    if (char === '(') return this.group();
    if (char === '[') {
      this.characterClass();
      return { quantified: false, alternation: false };
    }
    if (char === '.' || (char !== undefined && LITERAL.test(char))) {
      this.position += 1;
      return { quantified: false, alternation: false };
    }
    if (char === '\\') this.fail('must not hold "\\" (no escapes, classes or backreferences: write [.] for a dot)');
    if (char === '*' || char === '+' || char === '?' || char === '{') this.fail(`has ${char} with nothing to repeat`);
    if (char === '^') this.fail('may hold "^" only as its first character');
    return this.fail(`must not hold ${JSON.stringify(char)}`);
  }

  private group(): Piece {
    this.position += 1;
    if (this.peek() === '?') this.fail('must not hold "(?" (no lookaround, named groups or flags)');
    const first = this.sequence(false);
    let quantified = first.quantified;
    let alternation = first.alternation;
    while (this.peek() === '|') {
      this.position += 1;
      alternation = true;
      quantified ||= this.sequence(false).quantified;
    }
    if (this.peek() === '$') this.fail('may hold "$" only as its last character');
    if (this.peek() !== ')') this.fail('has a "(" that is never closed');
    this.position += 1;
    return { quantified, alternation };
  }

  private characterClass(): void {
    this.position += 1;
    if (this.peek() === '^') this.position += 1;
    const members: string[] = [];
    for (;;) {
      const char = this.peek();
      if (char === undefined) this.fail('has a "[" that is never closed');
      if (char === ']') break;
      if (!CLASS_MEMBER.test(char)) this.fail(`must not hold ${JSON.stringify(char)} in a character class`);
      members.push(char);
      this.position += 1;
    }
    if (members.length === 0) this.fail('must not hold an empty character class');
    this.position += 1;
    members.forEach((member, index) => {
      if (member !== '-' || index === 0 || index === members.length - 1) return;
      const low = members[index - 1] ?? '';
      const high = members[index + 1] ?? '';
      const kind = RANGE_KINDS.find((pattern) => pattern.test(low));
      if (kind === undefined || !kind.test(high) || low > high) {
        this.fail(`has a class range ${JSON.stringify(`${low}-${high}`)} that is not a-z, A-Z or 0-9 in order`);
      }
      if (members[index + 2] === '-' && index + 2 !== members.length - 1) this.fail('has chained class ranges');
    });
  }

  /** A quantifier after an atom, if any; counts it. */
  private quantifier(): boolean {
    const char = this.peek();
    let unbounded = false;
    if (char === '*' || char === '+') {
      unbounded = true;
      this.position += 1;
    } else if (char === '?') {
      this.position += 1;
    } else if (char === '{') {
      unbounded = this.repeatCount();
    } else {
      return false;
    }
    const next = this.peek();
    if (next === '*' || next === '+' || next === '?' || next === '{') {
      this.fail('must not follow a quantifier with another (no lazy or possessive quantifiers)');
    }
    this.counts.quantifiers += 1;
    if (unbounded) this.counts.unbounded += 1;
    return true;
  }

  /** `{n}`, `{n,}` or `{n,m}`; true when unbounded. */
  private repeatCount(): boolean {
    const rest = this.text.slice(this.position);
    const match = /^\{([0-9]{1,3})(,([0-9]{1,3})?)?\}/.exec(rest);
    if (match === null) this.fail('may use "{" only in a repeat count: {n}, {n,} or {n,m}');
    this.position += match[0].length;
    const low = Number(match[1]);
    const high = match[3] === undefined ? undefined : Number(match[3]);
    if (low > MAX_PATH_REGEX_REPEAT || (high ?? 0) > MAX_PATH_REGEX_REPEAT) {
      this.fail(`may repeat at most ${MAX_PATH_REGEX_REPEAT} times in {…}`);
    }
    if (high !== undefined && low > high) this.fail('has a repeat count {n,m} with n greater than m');
    return match[2] !== undefined && high === undefined;
  }
}

/** What is wrong with a `path_regex`, or undefined when it is in the accepted subset. */
export function pathRegexProblem(text: string): string | undefined {
  if (text.length > MAX_PATH_REGEX_LENGTH) return `must be at most ${MAX_PATH_REGEX_LENGTH} characters`;
  const parser = new Parser(text);
  try {
    parser.parse();
  } catch (error) {
    if (error instanceof RegexProblem) return error.message;
    throw error;
  }
  if (parser.counts.quantifiers > MAX_PATH_REGEX_QUANTIFIERS) {
    return `must hold at most ${MAX_PATH_REGEX_QUANTIFIERS} quantifiers (*, +, ?, {…})`;
  }
  if (parser.counts.unbounded > MAX_PATH_REGEX_UNBOUNDED) {
    return `must hold at most ${MAX_PATH_REGEX_UNBOUNDED} unbounded quantifiers (*, +, {n,})`;
  }
  try {
    new RegExp(text);
  } catch {
    return 'must be a valid regular expression';
  }
  return undefined;
}

/**
 * The regex as it matches: against the whole path, `^(?:…)$` around it without its own anchors
 * (the subset allows `^` only first and `$` only last, and no backslash, so neither is escaped). The
 * form the proxy gets, and what explain would test with: `/get` takes `/get`, not `/getter`.
 */
export function anchoredPathRegex(text: string): string {
  const body = text.slice(text.startsWith('^') ? 1 : 0, text.endsWith('$') ? -1 : undefined);
  return `^(?:${body})$`;
}

/**
 * Paths a path route never matches: dot segments (`..;` too, which Tomcat and Spring read as `..`),
 * doubled slashes, encoded dots, slashes and backslashes, an encoded percent sign (double encoding),
 * `%u` escapes, encoded NUL and backslashes, which servers may resolve to another path than the one
 * matched (HAProxy 2.6 can only normalize paths with experimental directives). The proxy's
 * configuration holds this regex; explain tests with it (isOddPath).
 */
export const ODD_PATH_PATTERN = String.raw`(^|/)\.\.?(/|;|$)|//|%2[eEfF5]|%5[cC]|%[uU]|%00|\\`;

const ODD_PATH = new RegExp(ODD_PATH_PATTERN);

export function isOddPath(path: string): boolean {
  return ODD_PATH.test(path);
}
