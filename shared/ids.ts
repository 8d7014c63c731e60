import { randomBytes } from 'node:crypto';
import { monotonicFactory } from 'ulid';

const nextUlid = monotonicFactory();

/** A new ULID: 26 Crockford base32 chars, sortable by creation time. */
export function newId(): string {
  return nextUlid();
}

/** A random opaque token: `prefix` + base64url of `bytes` random bytes. */
export function randomToken(prefix: string, bytes = 32): string {
  return prefix + randomBytes(bytes).toString('base64url');
}
