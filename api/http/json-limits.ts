/** Bounds on the shape of a JSON request body, checked on its text before it is parsed. */
export interface JsonLimits {
  /** Deepest nesting of objects and arrays (`{"a":[1]}` is 2). */
  maxDepth: number;
}

/** The API's bounds; no legitimate body nests more than 4 levels. */
export const DEFAULT_JSON_LIMITS: JsonLimits = { maxDepth: 32 };

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const OPEN_ARRAY = 0x5b;
const CLOSE_OBJECT = 0x7d;
const CLOSE_ARRAY = 0x5d;

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
  for (let i = 0; i < text.length; i += 1) {
    const code = text.charCodeAt(i);
    if (isWhitespace(code)) continue;
    if (code === QUOTE) {
      const end = stringEnd(text, i);
      if (end === -1) return undefined;
      i = end;
    } else if (code === OPEN_OBJECT || code === OPEN_ARRAY) {
      depth += 1;
      if (depth > limits.maxDepth) return `must nest at most ${limits.maxDepth} levels of objects and arrays`;
    } else if (code === CLOSE_OBJECT || code === CLOSE_ARRAY) {
      depth -= 1;
    }
  }
  return undefined;
}
