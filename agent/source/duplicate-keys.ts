// JSON.parse keeps the last of two equal keys in one object and cannot say so: a reviver is called
// once per key of the merged object, after the earlier copy is gone. So a container store listing one
// handle twice would silently lose a container. `mayRepeatKey` tells cheaply that the text JSON.parse
// has accepted repeats no key within one object, at any depth; when it cannot, `findDuplicateKey`
// says whether one repeats, which and where.

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

/** Whitespace JSON allows between tokens. */
const isJsonSpace = (char: number): boolean => char === 0x20 || char === 0x0a || char === 0x0d || char === 0x09;

/**
 * At least the number of keys written in `text` (valid JSON): colons with a quote before them, only
 * whitespace between. Every key ends so. A colon inside a string counts too when a quote precedes it
 * (an escaped `\":`, a value such as `"::1"`): that only sends the text to the exact scan. Jumping
 * from colon to colon is several times faster than from quote to quote.
 */
function keyColons(text: string): number {
  let keys = 0;
  for (let colon = text.indexOf(':'); colon !== -1; colon = text.indexOf(':', colon + 1)) {
    let before = colon - 1;
    while (isJsonSpace(text.charCodeAt(before))) before -= 1;
    if (text.charCodeAt(before) === QUOTE) keys += 1;
  }
  return keys;
}

/** Keys held by the objects of a parsed value, at any depth (each distinct key of an object once). */
function heldKeys(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0;
  let keys = 0;
  if (Array.isArray(value)) {
    for (const item of value) keys += heldKeys(item);
    return keys;
  }
  // for…in over what JSON.parse made: its own keys (no array of them is allocated).
  for (const key in value) keys += 1 + heldKeys(Reflect.get(value, key));
  return keys;
}

/**
 * False when `text` repeats no key within one object; true when it does, and rarely without (see
 * keyColons), so a true is confirmed with findDuplicateKey. `parsed` is what JSON.parse made of
 * `text`. Every key written is held by its object unless an equal key came before it in the same
 * object, so the written keys outnumber the held ones exactly when a key repeats.
 */
export function mayRepeatKey(text: string, parsed: unknown): boolean {
  return keyColons(text) !== heldKeys(parsed);
}
