import { describe, expect, it } from 'vitest';
import { redisRetryDelayMs, replayBufferTtlMs, tickCatchUpMs, tickClaimTtlMs, uwsIdleTimeoutSec } from '../../../signal/timings.js';

describe('derived timings', () => {
  it('gives uWS an idle timeout in its steps of 4 s, twice the node’s plus slack, within 16–960 s', () => {
    expect(uwsIdleTimeoutSec(30_000)).toBe(68);
    expect(uwsIdleTimeoutSec(1_000)).toBe(16);
    expect(uwsIdleTimeoutSec(10_000_000)).toBe(960);
    for (const ms of [1, 999, 4_001, 45_000, 123_456]) expect(uwsIdleTimeoutSec(ms) % 4).toBe(0);
  });

  it('keeps tick claims at least an hour and ten ticks, and catch-up below their lifetime', () => {
    expect(tickClaimTtlMs(60_000)).toBe(3_600_000);
    expect(tickClaimTtlMs(600_000)).toBe(6_000_000);
    const ttl = tickClaimTtlMs(60_000);
    expect(tickCatchUpMs({ reconnectGraceMs: 30_000, nodeTtlMs: 15_000, sweepMs: 1_000, tickMs: 60_000, mediaReportGraceMs: 20_000 }, ttl)).toBe(66_000);
    expect(tickCatchUpMs({ reconnectGraceMs: 9e6, nodeTtlMs: 0, sweepMs: 0, tickMs: 60_000, mediaReportGraceMs: 0 }, ttl)).toBe(ttl - 60_000);
  });

  it('keeps replay buffers four grace periods and at least ten minutes; backs off Redis reconnects up to 2 s', () => {
    expect(replayBufferTtlMs(30_000)).toBe(600_000);
    expect(replayBufferTtlMs(300_000)).toBe(1_200_000);
    expect([1, 5, 20, 100].map(redisRetryDelayMs)).toEqual([100, 500, 2_000, 2_000]);
  });
});
