/** Updates in flight at once per `updateEach` call (the API's MongoDB pool is small). */
const UPDATES_IN_FLIGHT = 8;

/**
 * Runs one single-document update per item, a few at a time. Not one bulk write: FerretDB 1.x
 * hangs on a multi-statement `update` command whose statements modify existing documents
 * (measured: 200 `updateOne`s by `_id` never answered), while single updates by `_id` are
 * pushed down to the backend.
 */
export async function updateEach<T>(items: readonly T[], update: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(UPDATES_IN_FLIGHT, items.length) }, async () => {
    while (next < items.length) await update(items[next++]!);
  }));
}
