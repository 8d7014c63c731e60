/**
 * Wire format of every message published between nodes (and from the API to the signal tier):
 * `<publisher id>\n<payload>`. Publisher ids never contain a newline, so the first newline always
 * ends the stamp and the payload is untouched.
 */
export function stampMessage(publisherId: string, payload: string): string {
  return `${publisherId}\n${payload}`;
}

/** Splits a stamped message; null when it carries no stamp. */
export function unstampMessage(raw: string): { from: string; payload: string } | null {
  const cut = raw.indexOf('\n');
  return cut < 0 ? null : { from: raw.slice(0, cut), payload: raw.slice(cut + 1) };
}
