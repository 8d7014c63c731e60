/** Bounds on the shape of a JSON request body, checked on its text before it is parsed. */
export interface JsonLimits {
  /** Deepest nesting of objects and arrays (`{"a":[1]}` is 2). */
  maxDepth: number;
  /** Object members and array items in the whole body, at every level. */
  maxEntries: number;
}

/**
 * The API's bounds. The largest legitimate body (`POST /v1/admin/users` with 500 accounts) has
 * ~5,000 entries and 4 levels. The count must be refused before `JSON.parse` sees the text: V8
 * parsed a 10,000-key object in ~13 ms here, a 90,000-key one (1 MB) in ~650 ms.
 */
export const DEFAULT_JSON_LIMITS: JsonLimits = { maxDepth: 32, maxEntries: 10_000 };

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const OPEN_ARRAY = 0x5b;
const CLOSE_OBJECT = 0x7d;
const CLOSE_ARRAY = 0x5d;
const COMMA = 0x2c;

function isWhitespace(code: number): boolean {
  return code === 0x20 || code === 0x0a || code === 0x0d || code === 0x09;
}

/** Index of the quote closing the string whose opening quote is at `start`, or -1. */
function stringEnd(text: string, start: number): number {
  let at = text.indexOf('"', start + 1);
  while (at !== -1) {
    let slashes = 0;
    while (text.charCodeAt(at - 1 - slashes) === BACKSLASH) slashes += 1;
    if (slashes % 2 === 0) return at;
    at = text.indexOf('"', at + 1);
  }
  return -1;
}

/**
 * Scans JSON text once, without building anything, and says which bound it exceeds (a
 * `details` message for the field `body`), or undefined. Malformed text is left for the parser
 * to refuse; the scan only counts structure outside strings, so it never refuses valid JSON that
 * is within the bounds.
 */
export function jsonShapeProblem(text: string, limits: JsonLimits = DEFAULT_JSON_LIMITS): string | undefined {
  let depth = 0;
  let entries = 0;
  let justOpened = false;
  for (let i = 0; i < text.length; i += 1) {
    const code = text.charCodeAt(i);
    if (isWhitespace(code)) continue;
    if (justOpened) {
      justOpened = false;
      if (code !== CLOSE_OBJECT && code !== CLOSE_ARRAY) entries += 1;
    }
    if (code === QUOTE) {
      const end = stringEnd(text, i);
      if (end === -1) return undefined;
      i = end;
    } else if (code === OPEN_OBJECT || code === OPEN_ARRAY) {
      depth += 1;
      if (depth > limits.maxDepth) return `must nest at most ${limits.maxDepth} levels of objects and arrays`;
      justOpened = true;
    } else if (code === CLOSE_OBJECT || code === CLOSE_ARRAY) {
      depth -= 1;
    } else if (code === COMMA) {
      entries += 1;
    }
    if (entries > limits.maxEntries) return `must have at most ${limits.maxEntries} object members and array items in all`;
  }
  return undefined;
}
