import type { Logger } from 'pino';

/** A periodic job that never keeps the process alive and never overlaps itself. */
export interface Sweeper {
  /** Stops the timer and waits for a running sweep. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Runs `sweep` every `intervalMs` (timer unref'd). Safe with several API copies: each transition
 * is conditional, so two sweepers racing on one call move it once.
 */
export function startSweeper(sweep: (now: Date) => Promise<unknown>, intervalMs: number, log: Logger): Sweeper {
  let running: Promise<void> | null = null;
  let stopped = false;
  const timer = setInterval(() => {
    if (running || stopped) return;
    running = sweep(new Date())
      .then(() => undefined, (err: unknown) => { log.error({ err }, 'ring-timeout sweep failed'); })
      .finally(() => { running = null; });
  }, intervalMs);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      if (running) await running;
    },
  };
}
