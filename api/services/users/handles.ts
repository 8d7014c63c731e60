/** Handle rules: 3–30 characters, lower-case letters, digits and `_`, starting with a letter. */
export const HANDLE_PATTERN = '^[A-Za-z][A-Za-z0-9_]{2,29}$';
const HANDLE = new RegExp(HANDLE_PATTERN);

/** Names that would collide with routes or impersonate the platform. */
const RESERVED = new Set([
  'me', 'admin', 'administrator', 'root', 'support', 'help', 'api', 'www', 'app', 'settings', 'handle', 'search',
  'avatars', 'vidivo', 'system', 'staff', 'moderator', 'null', 'undefined', 'guest', 'host', 'login', 'register', 'signup',
]);

export type HandleProblem = 'invalid_format' | 'reserved';

/** The canonical (lower-case) handle, or why it cannot be one. */
export function checkHandle(raw: string): { handle: string } | { problem: HandleProblem } {
  if (!HANDLE.test(raw)) return { problem: 'invalid_format' };
  const handle = raw.toLowerCase();
  if (RESERVED.has(handle)) return { problem: 'reserved' };
  return { handle };
}

/** Search terms of a host: the username and each word of the display name, lower-cased. */
export function searchTermsOf(username: string | undefined, displayName: string | null): string[] {
  const terms = new Set<string>();
  if (username) terms.add(username.toLowerCase());
  if (displayName) {
    const name = displayName.normalize('NFKC').toLowerCase().trim();
    if (name) terms.add(name);
    for (const word of name.split(/\s+/)) if (word) terms.add(word);
  }
  return [...terms];
}
