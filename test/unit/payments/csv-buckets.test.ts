import { describe, expect, it } from 'vitest';
import { csvCell, csvLine } from '../../../api/services/payments/csv.js';
import { bucketOf, bucketRange, isTimeZone, localDate } from '../../../api/services/payments/time-buckets.js';

describe('csv cells', () => {
  it('quotes commas, quotes and line breaks (RFC 4180)', () => {
    expect(csvCell('plain')).toBe('plain');
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('two\nlines')).toBe('"two\nlines"');
    expect(csvCell(null)).toBe('');
    expect(csvCell(-125)).toBe('-125');
  });

  it('neutralises text that a spreadsheet would evaluate', () => {
    expect(csvCell('=HYPERLINK("http://evil")')).toBe('"\'=HYPERLINK(""http://evil"")"');
    expect(csvCell('+1')).toBe("'+1");
    expect(csvCell('-2+3')).toBe("'-2+3");
    expect(csvCell('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvCell('\tx')).toBe("'\tx");
    expect(csvLine(['a', 1, null])).toBe('a,1,\r\n');
  });
});

describe('time buckets', () => {
  it('reads the calendar date in the given zone', () => {
    expect(localDate(new Date('2026-03-01T03:00:00Z'), 'America/New_York')).toEqual({ y: 2026, m: 2, d: 28 });
    expect(localDate(new Date('2026-03-01T03:00:00Z'), 'Asia/Tokyo')).toEqual({ y: 2026, m: 3, d: 1 });
    expect(isTimeZone('Europe/Paris')).toBe(true);
    expect(isTimeZone('Mars/Base')).toBe(false);
  });

  it('weeks start on Monday, months on the 1st, across a year end', () => {
    expect(bucketOf({ y: 2026, m: 1, d: 1 }, 'week')).toBe('2025-12-29');
    expect(bucketOf({ y: 2026, m: 3, d: 8 }, 'week')).toBe('2026-03-02');
    expect(bucketOf({ y: 2026, m: 3, d: 9 }, 'week')).toBe('2026-03-09');
    expect(bucketOf({ y: 2026, m: 2, d: 28 }, 'month')).toBe('2026-02-01');
  });

  it('lists every bucket of a range, once each, over a DST change', () => {
    expect(bucketRange(new Date('2026-03-07T12:00:00Z'), new Date('2026-03-10T12:00:00Z'), 'day', 'America/New_York'))
      .toEqual(['2026-03-07', '2026-03-08', '2026-03-09', '2026-03-10']);
    expect(bucketRange(new Date('2025-11-15T00:00:00Z'), new Date('2026-02-01T00:00:00Z'), 'month', 'UTC'))
      .toEqual(['2025-11-01', '2025-12-01', '2026-01-01', '2026-02-01']);
    expect(bucketRange(new Date('2025-12-31T00:00:00Z'), new Date('2026-01-13T00:00:00Z'), 'week', 'UTC'))
      .toEqual(['2025-12-29', '2026-01-05', '2026-01-12']);
  });
});
