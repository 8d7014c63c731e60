/**
 * Polls `check` every `everyMs` until it returns a truthy value and resolves with that value;
 * rejects naming `what` once `timeoutMs` has passed. The one bounded wait the tests use instead
 * of fixed sleeps.
 */
export async function until<T>(check: () => T | Promise<T>, timeoutMs = 10000, what = 'condition', everyMs = 25): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
