import { ApiError } from './api-client.js';
import type { Clock } from './clock.js';
import type { TokenSession } from './token-session.js';

export interface RefresherOptions {
  /** Renew a session once less than this is left of its access token's lifetime. */
  refreshBeforeMs: number;
  /** Most renewals in flight at once (each is one REST call, or a password login after a refusal). */
  parallelism: number;
  /** Wait after a failed renewal before trying that session again. */
  retryMs: number;
  /** How often due sessions are looked for. */
  tickMs: number;
}

/** A session is never renewed sooner than this after it got its tokens, whatever `refreshBeforeMs` says. */
export const MIN_TOKEN_AGE_MS = 1000;

/**
 * Keeps access tokens fresh: every `tickMs` it renews each session whose token has less than
 * `refreshBeforeMs` left (never within MIN_TOKEN_AGE_MS of the last renewal), at most `parallelism`
 * at a time, most overdue first. A session is renewed by one rotation at a time (TokenSession
 * serialises), so its newest refresh token is the only live one; the session's `onRenewed`
 * listeners hand it on (the state file, the worker running that host's call). A failure is counted
 * in `errors` under a label like `token_refresh:network` and retried after `retryMs`.
 */
export class TokenRefresher {
  /** Each session and the earliest time it may be retried after a failure. */
  private readonly sessions = new Map<TokenSession, number>();
  private running = 0;
  private timer: unknown;
  private idleWaiters: Array<() => void> = [];
  renewed = 0;
  failed = 0;
  readonly errors: Record<string, number> = {};

  constructor(private readonly clock: Clock, private readonly options: RefresherOptions) {}

  add(session: TokenSession): void {
    this.sessions.set(session, 0);
  }

  remove(session: TokenSession): void {
    this.sessions.delete(session);
  }

  get size(): number {
    return this.sessions.size;
  }

  /** When `session` is due for renewal, on the clock. */
  dueAt(session: TokenSession): number {
    return Math.max(session.obtainedAt + MIN_TOKEN_AGE_MS, session.expiresAt - this.options.refreshBeforeMs);
  }

  start(): void {
    if (this.timer !== undefined) return;
    const tick = () => {
      this.tick();
      this.timer = this.clock.setTimeout(tick, this.options.tickMs);
    };
    this.timer = this.clock.setTimeout(tick, this.options.tickMs);
  }

  /** Stops looking for due sessions; resolves once the renewals in flight are over. Safe to call twice. */
  stop(): Promise<void> {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    if (this.running === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private tick(): void {
    if (this.running >= this.options.parallelism) return;
    const now = this.clock.now();
    const due: Array<[TokenSession, number]> = [];
    for (const [session, retryAt] of this.sessions) {
      if (session.renewing) continue;
      const at = Math.max(this.dueAt(session), retryAt);
      if (at <= now) due.push([session, at]);
    }
    due.sort((a, b) => a[1] - b[1]);
    for (const [session] of due.slice(0, this.options.parallelism - this.running)) this.renew(session);
  }

  private renew(session: TokenSession): void {
    this.running += 1;
    session.renew().then(
      () => {
        this.renewed += 1;
        if (this.sessions.has(session)) this.sessions.set(session, 0);
      },
      (err: unknown) => {
        this.failed += 1;
        if (this.sessions.has(session)) this.sessions.set(session, this.clock.now() + this.options.retryMs);
        const label = `token_refresh:${err instanceof ApiError ? err.code : 'internal'}`;
        this.errors[label] = (this.errors[label] ?? 0) + 1;
      },
    ).finally(() => {
      this.running -= 1;
      if (this.running === 0) {
        const waiters = this.idleWaiters;
        this.idleWaiters = [];
        for (const w of waiters) w();
      }
    });
  }
}
