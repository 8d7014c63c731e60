/** A weekly interval in the host's own time zone. `day` 0 = Sunday; times are `HH:MM` wall clock. */
export interface WeeklyInterval {
  day: number;
  start: string;
  /** `24:00` allowed for end of day; earlier than `start` only with `overnight`. */
  end: string;
  /** Explicit wrap past midnight: the interval ends at `end` on the next day. */
  overnight?: boolean;
}

const MINUTES_PER_DAY = 1440;
const MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY;
const TIME = /^([01]\d|2[0-3]):([0-5]\d)$|^24:00$/;

/** `HH:MM` → minutes since midnight (0–1440); NaN when malformed. */
export function parseTime(value: string): number {
  if (!TIME.test(value)) return Number.NaN;
  const [h, m] = value.split(':').map(Number) as [number, number];
  return h * 60 + m;
}

/** The interval as [start, end) minutes from Sunday 00:00 (end may exceed one week when it wraps). */
function weekSpan(interval: WeeklyInterval): [number, number] {
  const start = interval.day * MINUTES_PER_DAY + parseTime(interval.start);
  const endOfDay = parseTime(interval.end);
  const end = interval.day * MINUTES_PER_DAY + endOfDay + (interval.overnight ? MINUTES_PER_DAY : 0);
  return [start, end];
}

/**
 * Checks a schedule: times well-formed, `start < end` within the day (or `end < start` with
 * `overnight: true`), no two intervals overlapping (touching is fine), including overlaps that
 * wrap from Saturday into Sunday. Returns field → message (`intervals.N.field`), empty when valid.
 */
export function validateSchedule(intervals: readonly WeeklyInterval[]): Record<string, string> {
  const problems: Record<string, string> = {};
  intervals.forEach((it, i) => {
    const start = parseTime(it.start);
    const end = parseTime(it.end);
    if (!Number.isInteger(it.day) || it.day < 0 || it.day > 6) problems[`intervals.${i}.day`] = 'must be an integer from 0 (Sunday) to 6';
    if (Number.isNaN(start) || start >= MINUTES_PER_DAY) problems[`intervals.${i}.start`] = 'must be a time HH:MM from 00:00 to 23:59';
    if (Number.isNaN(end)) problems[`intervals.${i}.end`] = 'must be a time HH:MM from 00:00 to 24:00';
    if (problems[`intervals.${i}.start`] || problems[`intervals.${i}.end`]) return;
    if (it.overnight) {
      if (end >= start) problems[`intervals.${i}.end`] = 'must be earlier than start for an overnight interval';
      else if (end === MINUTES_PER_DAY) problems[`intervals.${i}.end`] = 'must not be 24:00 for an overnight interval';
    } else if (end <= start) {
      problems[`intervals.${i}.end`] = 'must be later than start (set overnight: true to wrap past midnight)';
    }
  });
  if (Object.keys(problems).length > 0) return problems;
  const spans = intervals.map((it, index) => ({ index, span: weekSpan(it) }));
  for (let a = 0; a < spans.length; a++) {
    for (let b = a + 1; b < spans.length; b++) {
      if (overlaps(spans[a]!.span, spans[b]!.span)) {
        problems[`intervals.${spans[b]!.index}`] = `overlaps interval ${spans[a]!.index}`;
      }
    }
  }
  return problems;
}

function overlaps([s1, e1]: [number, number], [s2, e2]: [number, number]): boolean {
  for (const shift of [-MINUTES_PER_WEEK, 0, MINUTES_PER_WEEK]) {
    if (s1 < e2 + shift && s2 + shift < e1) return true;
  }
  return false;
}

/** True when `timeZone` is an IANA zone this runtime knows; returns its canonical spelling. */
export function canonicalTimeZone(timeZone: string): string | null {
  if (!/^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+){0,2}$/.test(timeZone)) return null;
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone }).resolvedOptions().timeZone;
  } catch {
    return null;
  }
}

const WEEKDAYS: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };
const formatters = new Map<string, Intl.DateTimeFormat>();

/** The wall-clock weekday and minute of `instant` in `timeZone` (DST applied by the runtime's tz data). */
export function localWeekMinute(instant: Date, timeZone: string): { day: number; minute: number } {
  let format = formatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', { timeZone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    formatters.set(timeZone, format);
  }
  const parts = Object.fromEntries(format.formatToParts(instant).map((p) => [p.type, p.value]));
  return { day: WEEKDAYS[parts['weekday']!]!, minute: Number(parts['hour']) * 60 + Number(parts['minute']) };
}

/**
 * True when the wall clock of `instant` in `timeZone` falls inside one of the intervals.
 * Intervals are wall-clock times: on a spring-forward day a skipped local time never matches;
 * on a fall-back day a repeated local hour matches both times it occurs.
 */
export function isWithinSchedule(intervals: readonly WeeklyInterval[], timeZone: string, instant: Date): boolean {
  const { day, minute } = localWeekMinute(instant, timeZone);
  const now = day * MINUTES_PER_DAY + minute;
  return intervals.some((it) => {
    const [start, end] = weekSpan(it);
    return (now >= start && now < end) || (now + MINUTES_PER_WEEK >= start && now + MINUTES_PER_WEEK < end);
  });
}

/** The host toggle and the schedule together; an absent or empty schedule leaves the toggle alone in charge. */
export function isAvailableNow(host: { available?: boolean; availability?: readonly WeeklyInterval[]; time_zone?: string }, instant: Date): boolean {
  if (host.available !== true) return false;
  const intervals = host.availability ?? [];
  if (intervals.length === 0) return true;
  return isWithinSchedule(intervals, host.time_zone ?? 'UTC', instant);
}
