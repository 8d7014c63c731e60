import { AppError } from '../../shared/errors/index.js';

/** Pauses between attempts of a call-store operation: five attempts over about 2.6 s. */
export const STORAGE_RETRY_DELAYS_MS: readonly number[] = [100, 300, 700, 1500];

/** Options of `withRetry`. */
export interface RetryOptions {
  /** Pause before retry i+1 (±20 % jitter); `delaysMs.length + 1` attempts in all. */
  delaysMs: readonly number[];
  /** True for an error that retrying cannot change (it is rethrown at once). */
  isFinal(err: unknown): boolean;
  /** Called before each pause with the error and the number of the attempt that failed (1-based). */
  onRetry?(err: unknown, attempt: number): void;
}

/**
 * True for outcomes of a call-store operation that a retry would repeat: AppError (`conflict`,
 * `not_found`, …) and TypeError (a bad argument). Anything else is a storage failure (busy or
 * unreachable database) that may pass.
 */
export function isFinalStorageError(err: unknown): boolean {
  return err instanceof AppError || err instanceof TypeError;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `attempt` until it resolves, fails finally, or has used every attempt; rejects with the last error. */
export async function withRetry<T>(attempt: () => Promise<T>, options: RetryOptions): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (err) {
      const delay = options.delaysMs[n - 1];
      if (delay === undefined || options.isFinal(err)) throw err;
      options.onRetry?.(err, n);
      await pause(delay * (0.8 + Math.random() * 0.4));
    }
  }
}
