import { ApiError, type TokenPair } from './api-client.js';

/** How a session gets new tokens: rotate its refresh token, or sign in again when that is refused. */
export interface TokenSource {
  refresh(refreshToken: string): Promise<TokenPair>;
  login(): Promise<TokenPair>;
}

/**
 * One account's access and refresh tokens. `renew()` rotates the refresh token; concurrent callers
 * share the rotation in flight, so this process never presents a (single-use) refresh token twice.
 * A refused refresh (`invalid_token`: expired, revoked, already used, e.g. after a rotation whose
 * answer was lost) falls back to a password login. Times are on the caller's clock; `expiresAt` is
 * the moment the request was sent plus `expires_in`, so it errs early. Listeners added with
 * `onRenewed` run after each successful renewal; one that throws cannot break the others.
 */
export class TokenSession {
  accessToken = '';
  refreshToken = '';
  obtainedAt = 0;
  expiresAt = 0;
  private inFlight: Promise<void> | undefined;
  private readonly listeners: Array<(session: TokenSession) => void> = [];

  private constructor(private readonly source: TokenSource, private readonly now: () => number) {}

  /** Signs in with `refreshToken` when given and still accepted, else with the password. */
  static async open(source: TokenSource, now: () => number, refreshToken?: string): Promise<TokenSession> {
    const session = new TokenSession(source, now);
    const sent = now();
    let pair: TokenPair | undefined;
    if (refreshToken) {
      try {
        pair = await source.refresh(refreshToken);
      } catch (err) {
        if (!(err instanceof ApiError) || err.code !== 'invalid_token') throw err;
      }
    }
    session.accept(pair ?? await source.login(), sent);
    return session;
  }

  onRenewed(listener: (session: TokenSession) => void): void {
    this.listeners.push(listener);
  }

  /** True while a rotation is in flight. */
  get renewing(): boolean {
    return this.inFlight !== undefined;
  }

  /** Rotates the tokens; callers during a rotation get the same promise. Rejects with the ApiError of the last attempt. */
  renew(): Promise<void> {
    this.inFlight ??= this.rotate().finally(() => { this.inFlight = undefined; });
    return this.inFlight;
  }

  private async rotate(): Promise<void> {
    const sent = this.now();
    let pair: TokenPair;
    try {
      pair = await this.source.refresh(this.refreshToken);
    } catch (err) {
      if (!(err instanceof ApiError) || err.code !== 'invalid_token') throw err;
      pair = await this.source.login();
    }
    this.accept(pair, sent);
    for (const listener of this.listeners) {
      try {
        listener(this);
      } catch {
        continue;
      }
    }
  }

  private accept(pair: TokenPair, sent: number): void {
    this.accessToken = pair.accessToken;
    this.refreshToken = pair.refreshToken;
    this.obtainedAt = sent;
    this.expiresAt = sent + pair.expiresInSec * 1000;
  }
}
