/**
 * Runs `run` over `items` with at most `limit` in flight; resolves when all are done. `run`
 * handles its own errors (a rejection stops nothing else but is rethrown at the end).
 */
export async function eachLimited<T>(items: readonly T[], limit: number, run: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { err: unknown } | undefined;
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++]!;
      try {
        await run(item);
      } catch (err) {
        failure ??= { err };
      }
    }
  }));
  if (failure) throw failure.err;
}
