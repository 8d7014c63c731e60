import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../../../signal/session/token-bucket.js';

/** How many of `n` takes at time `t` succeed. */
function takes(bucket: TokenBucket, n: number, t: number): number {
  let ok = 0;
  for (let i = 0; i < n; i++) if (bucket.take(t)) ok++;
  return ok;
}

describe('TokenBucket', () => {
  const T0 = 1_700_000_000_000;

  it('allows a full burst at once, then refuses', () => {
    const bucket = new TokenBucket(5, 10, T0);
    expect(takes(bucket, 10, T0)).toBe(10);
    expect(bucket.take(T0)).toBe(false);
  });

  it('refills at the configured rate, including fractions of a token', () => {
    const bucket = new TokenBucket(5, 10, T0);
    takes(bucket, 10, T0);
    expect(bucket.take(T0 + 199)).toBe(false);
    expect(bucket.take(T0 + 200)).toBe(true);
    expect(bucket.take(T0 + 200)).toBe(false);
    expect(takes(bucket, 10, T0 + 1200)).toBe(5);
    // 0.5 token after 100 ms, the other half after another 100 ms.
    expect(bucket.take(T0 + 1300)).toBe(false);
    expect(bucket.take(T0 + 1400)).toBe(true);
  });

  it('sustains the rate and no more over a long run', () => {
    const bucket = new TokenBucket(50, 100, T0);
    takes(bucket, 100, T0);
    let ok = 0;
    for (let ms = 1; ms <= 10_000; ms++) ok += takes(bucket, 1, T0 + ms);
    expect(ok).toBe(500);
  });

  it('never holds more than the burst, however long it idles', () => {
    const bucket = new TokenBucket(5, 10, T0);
    takes(bucket, 10, T0);
    expect(takes(bucket, 100, T0 + 3_600_000)).toBe(10);
    const fresh = new TokenBucket(1000, 3, T0);
    expect(takes(fresh, 10, T0 + 60_000)).toBe(3);
  });

  it('gives no tokens for a clock that goes backwards, and refills again from the new time', () => {
    const bucket = new TokenBucket(5, 10, T0);
    takes(bucket, 10, T0);
    const back = T0 - 3_600_000;
    expect(bucket.take(back)).toBe(false);
    // A step back must not stall refills until the clock catches up with the old reading.
    expect(bucket.take(back + 200)).toBe(true);
    expect(bucket.take(back + 200)).toBe(false);
    expect(takes(bucket, 10, back + 2200)).toBe(10);
  });
});
