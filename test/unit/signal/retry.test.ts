import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AppError } from '../../../shared/errors/index.js';
import { isFinalStorageError, withRetry } from '../../../signal/calls/retry.js';

describe('withRetry', () => {
  beforeEach(() => { vi.useFakeTimers(); });
  afterEach(() => { vi.useRealTimers(); });

  /** An operation failing its first `n` calls with `err`, then resolving with the call count. */
  function failing(n: number, err: unknown = new Error('SQLITE_BUSY')) {
    let calls = 0;
    return { op: async () => { calls++; if (calls <= n) throw err; return calls; }, calls: () => calls };
  }

  it('retries transient failures after the configured pauses and resolves with the first success', async () => {
    const { op, calls } = failing(2);
    const retries: number[] = [];
    const done = withRetry(op, { delaysMs: [100, 1000, 1000], isFinal: isFinalStorageError, onRetry: (_e, n) => retries.push(n) });
    await vi.advanceTimersByTimeAsync(79);
    expect(calls()).toBe(1);
    await vi.advanceTimersByTimeAsync(41);
    expect(calls()).toBe(2);
    await vi.advanceTimersByTimeAsync(1200);
    await expect(done).resolves.toBe(3);
    expect(retries).toEqual([1, 2]);
  });

  it('gives up after delays + 1 attempts with the last error', async () => {
    const { op, calls } = failing(10, new Error('unreachable'));
    const done = withRetry(op, { delaysMs: [10, 20, 30], isFinal: isFinalStorageError });
    const settled = expect(done).rejects.toThrow('unreachable');
    await vi.advanceTimersByTimeAsync(1000);
    await settled;
    expect(calls()).toBe(4);
  });

  it('does not retry a final outcome (conflict, not_found, bad argument)', async () => {
    for (const err of [new AppError('conflict'), new AppError('not_found'), new TypeError('bad reason')]) {
      const { op, calls } = failing(1, err);
      await expect(withRetry(op, { delaysMs: [10, 10], isFinal: isFinalStorageError })).rejects.toBe(err);
      expect(calls()).toBe(1);
    }
  });
});
