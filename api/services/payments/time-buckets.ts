export type Interval = 'day' | 'week' | 'month';

interface LocalDate { y: number; m: number; d: number }

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
    formatters.set(timeZone, f);
  }
  return f;
}

/** True when `timeZone` is an IANA zone this runtime knows. */
export function isTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** The calendar date of `at` in `timeZone`. */
export function localDate(at: Date, timeZone: string): LocalDate {
  const parts = Object.fromEntries(formatter(timeZone).formatToParts(at).map((p) => [p.type, p.value]));
  return { y: Number(parts['year']), m: Number(parts['month']), d: Number(parts['day']) };
}

function iso({ y, m, d }: LocalDate): string {
  return `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
}

function shift(date: LocalDate, days: number): LocalDate {
  const t = new Date(Date.UTC(date.y, date.m - 1, date.d + days));
  return { y: t.getUTCFullYear(), m: t.getUTCMonth() + 1, d: t.getUTCDate() };
}

/**
 * The bucket key of a local date: the day itself, the Monday starting its ISO week, or the
 * first of its month (all `YYYY-MM-DD`, local to the host's zone).
 */
export function bucketOf(date: LocalDate, interval: Interval): string {
  if (interval === 'day') return iso(date);
  if (interval === 'month') return iso({ y: date.y, m: date.m, d: 1 });
  const weekday = new Date(Date.UTC(date.y, date.m - 1, date.d)).getUTCDay();
  return iso(shift(date, -((weekday + 6) % 7)));
}

/** Every bucket key from the one holding `from` to the one holding `to` (inclusive), in order. */
export function bucketRange(from: Date, to: Date, interval: Interval, timeZone: string): string[] {
  const last = bucketOf(localDate(to, timeZone), interval);
  const keys: string[] = [];
  let cursor = localDate(from, timeZone);
  for (let key = bucketOf(cursor, interval); ; key = bucketOf(cursor, interval)) {
    if (keys[keys.length - 1] !== key) keys.push(key);
    if (key >= last) break;
    cursor = interval === 'month' ? { y: cursor.m === 12 ? cursor.y + 1 : cursor.y, m: cursor.m === 12 ? 1 : cursor.m + 1, d: 1 } : shift(cursor, interval === 'week' ? 7 : 1);
  }
  return keys;
}
