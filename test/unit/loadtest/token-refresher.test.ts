import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiError, type TokenPair } from '../../../scripts/loadtest/api-client.js';
import type { Clock } from '../../../scripts/loadtest/clock.js';
import { TokenRefresher } from '../../../scripts/loadtest/token-refresher.js';
import { TokenSession, type TokenSource } from '../../../scripts/loadtest/token-session.js';

const MIN = 60_000;
const clock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** A stand-in for the auth API with its rotation rule: a refresh token works once; reusing one revokes the family. */
class FakeAuth implements TokenSource {
  private n = 0;
  private live = new Set<string>();
  refreshes: string[] = [];
  logins = 0;
  reuses = 0;
  inFlight = 0;
  maxInFlight = 0;
  delayMs = 0;
  failNext: string[] = [];

  private issue(): TokenPair {
    const n = ++this.n;
    this.live.add(`rt_${n}`);
    return { accessToken: `at_${n}`, refreshToken: `rt_${n}`, expiresInSec: 900 };
  }

  private async slow<T>(fn: () => T): Promise<T> {
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
      const failure = this.failNext.shift();
      if (failure) throw new ApiError('refresh', 0, failure);
      return fn();
    } finally {
      this.inFlight -= 1;
    }
  }

  refresh(token: string): Promise<TokenPair> {
    return this.slow(() => {
      this.refreshes.push(token);
      if (!this.live.delete(token)) {
        this.reuses += 1;
        this.live.clear();
        throw new ApiError('refresh', 401, 'invalid_token');
      }
      return this.issue();
    });
  }

  login(): Promise<TokenPair> {
    this.logins += 1;
    return Promise.resolve(this.issue());
  }
}

describe('TokenSession and TokenRefresher (fake timers)', () => {
  beforeEach(() => { vi.useFakeTimers(); });
  afterEach(() => { vi.useRealTimers(); });

  const options = { refreshBeforeMs: 5 * MIN, parallelism: 8, retryMs: 10_000, tickMs: 1000 };

  it('renews a 15-minute token once less than refresh-before is left, and again 10 minutes later', async () => {
    const auth = new FakeAuth();
    const session = await TokenSession.open(auth, clock.now);
    const seen: string[] = [];
    session.onRenewed((s) => seen.push(s.accessToken));
    const refresher = new TokenRefresher(clock, options);
    refresher.add(session);
    refresher.start();
    expect(refresher.dueAt(session)).toBe(session.obtainedAt + 10 * MIN);
    await vi.advanceTimersByTimeAsync(10 * MIN - 1000);
    expect(auth.refreshes).toEqual([]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(auth.refreshes).toEqual(['rt_1']);
    expect(session.accessToken).toBe('at_2');
    expect(session.expiresAt - Date.now()).toBe(15 * MIN);
    await vi.advanceTimersByTimeAsync(10 * MIN);
    expect(auth.refreshes).toEqual(['rt_1', 'rt_2']);
    expect(seen).toEqual(['at_2', 'at_3']);
    expect(refresher.renewed).toBe(2);
    await refresher.stop();
    await vi.advanceTimersByTimeAsync(60 * MIN);
    expect(auth.refreshes).toHaveLength(2);
  });

  it('never presents a refresh token twice: concurrent renewals share one rotation', async () => {
    const auth = new FakeAuth();
    auth.delayMs = 500;
    const session = await TokenSession.open(auth, clock.now);
    const a = session.renew();
    const b = session.renew();
    expect(a).toBe(b);
    expect(session.renewing).toBe(true);
    await vi.advanceTimersByTimeAsync(500);
    await Promise.all([a, b]);
    expect(auth.refreshes).toEqual(['rt_1']);
    await Promise.all([session.renew(), vi.advanceTimersByTimeAsync(500)]);
    expect(auth.refreshes).toEqual(['rt_1', 'rt_2']);
    expect(auth.reuses).toBe(0);
    expect(session.refreshToken).toBe('rt_3');
  });

  it('does not start a second renewal of a session while one is slow', async () => {
    const auth = new FakeAuth();
    const session = await TokenSession.open(auth, clock.now);
    auth.delayMs = 5000;
    const refresher = new TokenRefresher(clock, { ...options, refreshBeforeMs: 15 * MIN });
    refresher.add(session);
    refresher.start();
    await vi.advanceTimersByTimeAsync(4000);
    expect(auth.inFlight).toBe(1);
    await vi.advanceTimersByTimeAsync(2500);
    expect(auth.refreshes).toEqual(['rt_1']);
    expect(auth.maxInFlight).toBe(1);
    await Promise.all([refresher.stop(), vi.advanceTimersByTimeAsync(10_000)]);
    expect(auth.refreshes).toEqual(['rt_1', 'rt_2']);
    expect(auth.maxInFlight).toBe(1);
    expect(auth.reuses).toBe(0);
  });

  it('signs in with the password when the refresh token is refused, and retries other failures later', async () => {
    const auth = new FakeAuth();
    const session = await TokenSession.open(auth, clock.now);
    const refresher = new TokenRefresher(clock, options);
    refresher.add(session);
    refresher.start();
    auth.failNext = ['timeout'];
    await vi.advanceTimersByTimeAsync(10 * MIN);
    expect(refresher.failed).toBe(1);
    expect(refresher.errors).toEqual({ 'token_refresh:timeout': 1 });
    expect(session.accessToken).toBe('at_1');
    await vi.advanceTimersByTimeAsync(9000);
    expect(auth.refreshes).toEqual([]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(auth.refreshes).toEqual(['rt_1']);
    expect(session.accessToken).toBe('at_2');

    session.refreshToken = 'rt_1';
    await vi.advanceTimersByTimeAsync(10 * MIN);
    expect(auth.reuses).toBe(1);
    expect(auth.logins).toBe(2);
    expect(session.accessToken).toBe('at_3');
    expect(refresher.renewed).toBe(2);
    await refresher.stop();
  });

  it('reuses a stored refresh token at open, falling back to the password when it is refused', async () => {
    const auth = new FakeAuth();
    const first = await TokenSession.open(auth, clock.now);
    const reopened = await TokenSession.open(auth, clock.now, first.refreshToken);
    expect(auth.logins).toBe(1);
    expect(reopened.refreshToken).toBe('rt_2');
    const stale = await TokenSession.open(auth, clock.now, 'rt_1');
    expect(auth.logins).toBe(2);
    expect(stale.accessToken).toBe('at_3');
    auth.failNext = ['network'];
    await expect(TokenSession.open(auth, clock.now, stale.refreshToken)).rejects.toMatchObject({ code: 'network' });
  });

  it('renews at most `parallelism` sessions at a time, most overdue first, and stop() waits for them', async () => {
    const auth = new FakeAuth();
    const sessions: TokenSession[] = [];
    for (let i = 0; i < 10; i++) {
      sessions.push(await TokenSession.open(auth, clock.now));
      await vi.advanceTimersByTimeAsync(100);
    }
    auth.delayMs = 2000;
    const order: number[] = [];
    sessions.forEach((s, i) => s.onRenewed(() => order.push(i)));
    const refresher = new TokenRefresher(clock, { ...options, parallelism: 3 });
    for (const s of [...sessions].reverse()) refresher.add(s);
    refresher.start();
    await vi.advanceTimersByTimeAsync(11 * MIN);
    expect(auth.maxInFlight).toBe(3);
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const stopped = refresher.stop();
    let done = false;
    void stopped.then(() => { done = true; });
    await vi.advanceTimersByTimeAsync(0);
    expect(done).toBe(true);
  });

  it('a throwing listener does not keep the others from the new token', async () => {
    const auth = new FakeAuth();
    const session = await TokenSession.open(auth, clock.now);
    const seen: string[] = [];
    session.onRenewed(() => { throw new Error('listener bug'); });
    session.onRenewed((s) => seen.push(s.refreshToken));
    await session.renew();
    expect(seen).toEqual(['rt_2']);
  });

  it('never renews within a second of the last renewal, even when refresh-before exceeds the lifetime', async () => {
    const auth = new FakeAuth();
    const session = await TokenSession.open(auth, clock.now);
    const refresher = new TokenRefresher(clock, { ...options, refreshBeforeMs: 60 * MIN, tickMs: 100 });
    refresher.add(session);
    refresher.start();
    await vi.advanceTimersByTimeAsync(5000);
    expect(auth.refreshes.length).toBeGreaterThanOrEqual(4);
    expect(auth.refreshes.length).toBeLessThanOrEqual(5);
    expect(auth.reuses).toBe(0);
    await refresher.stop();
  });
});
