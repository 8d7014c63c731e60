/**
 * Wire format of every message published between nodes (and from the API to the signal tier).
 *
 * - One payload: `<publisher id>\n<payload>`. Publisher ids are never empty and never contain a
 *   newline, so the first newline always ends the stamp and the payload is untouched.
 * - Several payloads of one publisher on one channel (a signal node's batch): `\n<publisher id>\n`
 *   followed by `<length>:<payload>` for each, the length in UTF-16 code units in decimal. The
 *   leading newline (an empty stamp, which no publisher has) marks the batch.
 */
export function stampMessage(publisherId: string, payload: string): string {
  return `${publisherId}\n${payload}`;
}

/** The batch form of `stampMessage`; a single payload is stamped as one message. */
export function stampBatch(publisherId: string, payloads: readonly string[]): string {
  if (payloads.length === 1) return stampMessage(publisherId, payloads[0]!);
  let out = `\n${publisherId}\n`;
  for (const payload of payloads) out += `${payload.length}:${payload}`;
  return out;
}

/** A stamped message or batch, split; null when it carries no stamp or a batch is malformed. */
export function unstampMessage(raw: string): { from: string; payloads: string[] } | null {
  const cut = raw.indexOf('\n');
  if (cut < 0) return null;
  if (cut > 0) return { from: raw.slice(0, cut), payloads: [raw.slice(cut + 1)] };
  const end = raw.indexOf('\n', 1);
  if (end <= 1) return null;
  const payloads: string[] = [];
  for (let at = end + 1; at < raw.length;) {
    let length = 0;
    let colon = at;
    for (let code = raw.charCodeAt(colon); code >= 48 && code <= 57 && colon - at < 10; code = raw.charCodeAt(++colon)) {
      length = length * 10 + (code - 48);
    }
    const next = colon + 1 + length;
    if (colon === at || raw.charCodeAt(colon) !== 58 || next > raw.length) return null;
    payloads.push(raw.slice(colon + 1, next));
    at = next;
  }
  return payloads.length > 0 ? { from: raw.slice(1, end), payloads } : null;
}
