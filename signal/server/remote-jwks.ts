import type { JWK } from 'jose';
import type { Logger } from 'pino';
import type { JwksSource } from '../../shared/tokens/index.js';

export interface RemoteJwksOptions {
  url: string;
  log: Logger;
  /** Refetch period (default 5 min). */
  refreshMs?: number;
  /** Least time between two fetches asked for by an unknown `kid` (default 30 s). */
  cooldownMs?: number;
  /** Per-request timeout (default 5 s). */
  timeoutMs?: number;
  fetch?: typeof fetch;
  now?: () => number;
}

const EMPTY_SET_COOLDOWN_MS = 1000;

function isJwkSet(body: unknown): body is { keys: JWK[] } {
  const keys = (body as { keys?: unknown } | null)?.keys;
  return Array.isArray(keys) && keys.every((k) => typeof k === 'object' && k !== null && !Array.isArray(k));
}

/**
 * A JWKS fetched from `url` and readable synchronously (for the upgrade-time token check). It
 * refetches every `refreshMs` and, at most once per `cooldownMs` (per second while it has no key
 * yet), when a token names a `kid` it lacks; that token is refused meanwhile. A failed fetch keeps the last good set. `close()` stops
 * the refresh; idempotent.
 */
export class RemoteJwks implements JwksSource {
  #keys: JWK[] = [];
  #lastAttempt = Number.NEGATIVE_INFINITY;
  #inFlight: Promise<void> | undefined;
  readonly #timer: NodeJS.Timeout;
  readonly #fetch: typeof fetch;
  readonly #now: () => number;
  readonly #cooldownMs: number;
  readonly #timeoutMs: number;

  constructor(private readonly options: RemoteJwksOptions) {
    this.#fetch = options.fetch ?? fetch;
    this.#now = options.now ?? Date.now;
    this.#cooldownMs = options.cooldownMs ?? 30_000;
    this.#timeoutMs = options.timeoutMs ?? 5_000;
    this.#timer = setInterval(() => void this.refresh(), options.refreshMs ?? 300_000);
    this.#timer.unref();
  }

  jwks(): { keys: JWK[] } {
    return { keys: this.#keys };
  }

  unknownKid(kid: string): void {
    const cooldownMs = this.#keys.length > 0 ? this.#cooldownMs : EMPTY_SET_COOLDOWN_MS;
    if (this.#inFlight || this.#now() - this.#lastAttempt < cooldownMs) return;
    this.options.log.info({ kid }, 'unknown kid; refetching JWKS');
    void this.refresh();
  }

  /** Fetches the set now (joining a fetch already running); never rejects. */
  refresh(): Promise<void> {
    return (this.#inFlight ??= this.#load().finally(() => { this.#inFlight = undefined; }));
  }

  close(): void {
    clearInterval(this.#timer);
  }

  async #load(): Promise<void> {
    this.#lastAttempt = this.#now();
    try {
      const res = await this.#fetch(this.options.url, { signal: AbortSignal.timeout(this.#timeoutMs), headers: { accept: 'application/json' } });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const body: unknown = await res.json();
      if (!isJwkSet(body)) throw new Error('not a JSON Web Key Set');
      this.#keys = body.keys;
    } catch (err) {
      this.options.log.warn({ err, url: this.options.url }, 'JWKS fetch failed; keeping the last key set');
    }
  }
}
