// JSON.parse keeps the last of two equal keys in one object and cannot say so: a reviver is called
// once per key of the merged object, after the earlier copy is gone. So a container store listing one
// handle twice would silently lose a container. This scans the text JSON.parse has accepted for a
// key repeated within one object, at any depth.

type Frame = { kind: 'object'; keys: Set<string>; key: string; expectKey: boolean } | { kind: 'array'; index: number };

export interface DuplicateKey {
  /** Where the object holding it is, as a zod-style path (`[]` for the top level). */
  readonly path: (string | number)[];
  readonly key: string;
}

function decode(token: string): string {
  if (!token.includes('\\')) return token.slice(1, -1);
  const value: unknown = JSON.parse(token);
  return String(value);
}

/** Index of the quote that closes the string opened at `open` (valid JSON: it exists). */
function closingQuote(text: string, open: number): number {
  let close = text.indexOf('"', open + 1);
  for (;;) {
    let backslashes = 0;
    while (text.charCodeAt(close - 1 - backslashes) === BACKSLASH) backslashes += 1;
    if (backslashes % 2 === 0) return close;
    close = text.indexOf('"', close + 1);
  }
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;

/**
 * The first key that appears twice in one object of `text`, which must be valid JSON (parse it
 * first). A character loop, not a tokenizing regex: it adds well under JSON.parse's own time.
 */
export function findDuplicateKey(text: string): DuplicateKey | undefined {
  const stack: Frame[] = [];
  let top: Frame | undefined;
  for (let at = 0; at < text.length; at += 1) {
    const char = text.charCodeAt(at);
    if (char === QUOTE) {
      const close = closingQuote(text, at);
      // A string: a key when an object expects one, else a value (skipped).
      if (top?.kind === 'object' && top.expectKey) {
        const key = decode(text.slice(at, close + 1));
        if (top.keys.has(key)) {
          return { path: stack.slice(0, -1).map((frame) => (frame.kind === 'object' ? frame.key : frame.index)), key };
        }
        top.keys.add(key);
        top.key = key;
        top.expectKey = false;
      }
      at = close;
    } else if (char === OPEN_OBJECT || char === OPEN_ARRAY) {
      top =
        char === OPEN_OBJECT
          ? { kind: 'object', keys: new Set(), key: '', expectKey: true }
          : { kind: 'array', index: 0 };
      stack.push(top);
    } else if (char === CLOSE_OBJECT || char === CLOSE_ARRAY) {
      stack.pop();
      top = stack.at(-1);
    } else if (char === COMMA) {
      if (top?.kind === 'array') top.index += 1;
      else if (top?.kind === 'object') top.expectKey = true;
    }
  }
  return undefined;
}
