import { describe, expect, it } from 'vitest';
import { canonicalTimeZone, isAvailableNow, isWithinSchedule, localWeekMinute, validateSchedule, type WeeklyInterval } from '../../../api/services/availability/schedule.js';

const at = (iso: string) => new Date(iso);
const NY = 'America/New_York';

describe('availability schedule: validation', () => {
  it('accepts well-formed, non-overlapping intervals (touching is fine)', () => {
    expect(validateSchedule([
      { day: 1, start: '09:00', end: '12:00' },
      { day: 1, start: '12:00', end: '24:00' },
      { day: 2, start: '22:00', end: '02:00', overnight: true },
      { day: 3, start: '02:00', end: '05:00' },
    ])).toEqual({});
  });

  it('refuses start >= end without an explicit overnight wrap', () => {
    expect(validateSchedule([{ day: 1, start: '10:00', end: '10:00' }])).toHaveProperty(['intervals.0.end']);
    expect(validateSchedule([{ day: 1, start: '22:00', end: '02:00' }])['intervals.0.end']).toMatch(/overnight/);
  });

  it('refuses an overnight interval that does not wrap', () => {
    expect(validateSchedule([{ day: 1, start: '08:00', end: '09:00', overnight: true }])).toHaveProperty(['intervals.0.end']);
  });

  it('refuses malformed times and days', () => {
    const problems = validateSchedule([{ day: 7, start: '25:00', end: '9:00' }]);
    expect(Object.keys(problems).sort()).toEqual(['intervals.0.day', 'intervals.0.end', 'intervals.0.start']);
  });

  it('finds overlaps within a day, across midnight and across the week boundary', () => {
    expect(validateSchedule([{ day: 1, start: '09:00', end: '12:00' }, { day: 1, start: '11:59', end: '13:00' }])).toEqual({ 'intervals.1': 'overlaps interval 0' });
    expect(validateSchedule([{ day: 1, start: '22:00', end: '03:00', overnight: true }, { day: 2, start: '02:00', end: '04:00' }])).toEqual({ 'intervals.1': 'overlaps interval 0' });
    expect(validateSchedule([{ day: 0, start: '00:30', end: '01:00' }, { day: 6, start: '23:00', end: '01:00', overnight: true }])).toEqual({ 'intervals.1': 'overlaps interval 0' });
  });
});

describe('availability schedule: "now" across DST (fixed instants)', () => {
  it('reads the wall clock with the zone offset in force at the instant', () => {
    expect(localWeekMinute(at('2024-03-10T06:59:00Z'), NY)).toEqual({ day: 0, minute: 1 * 60 + 59 });
    expect(localWeekMinute(at('2024-03-10T07:00:00Z'), NY)).toEqual({ day: 0, minute: 3 * 60 });
  });

  it('keeps a 09:00-17:00 Monday slot on the local clock before and after spring-forward', () => {
    const slot: WeeklyInterval[] = [{ day: 1, start: '09:00', end: '17:00' }];
    expect(isWithinSchedule(slot, NY, at('2024-03-04T21:30:00Z'))).toBe(true); // 16:30 EST
    expect(isWithinSchedule(slot, NY, at('2024-03-11T21:30:00Z'))).toBe(false); // 17:30 EDT
    expect(isWithinSchedule(slot, NY, at('2024-03-11T13:30:00Z'))).toBe(true); // 09:30 EDT
    expect(isWithinSchedule(slot, NY, at('2024-03-04T13:30:00Z'))).toBe(false); // 08:30 EST
  });

  it('never matches local times skipped by spring-forward', () => {
    const skipped: WeeklyInterval[] = [{ day: 0, start: '02:00', end: '02:30' }];
    expect(isWithinSchedule(skipped, NY, at('2024-03-10T06:59:00Z'))).toBe(false); // 01:59 EST
    expect(isWithinSchedule(skipped, NY, at('2024-03-10T07:00:00Z'))).toBe(false); // 03:00 EDT
    expect(isWithinSchedule(skipped, NY, at('2024-03-17T06:15:00Z'))).toBe(true); // a week later, 02:15 EDT
  });

  it('matches a repeated fall-back hour both times it occurs', () => {
    const repeated: WeeklyInterval[] = [{ day: 0, start: '01:00', end: '02:00' }];
    expect(isWithinSchedule(repeated, NY, at('2024-11-03T04:59:00Z'))).toBe(false); // 00:59 EDT
    expect(isWithinSchedule(repeated, NY, at('2024-11-03T05:30:00Z'))).toBe(true); // 01:30 EDT
    expect(isWithinSchedule(repeated, NY, at('2024-11-03T06:30:00Z'))).toBe(true); // 01:30 EST
    expect(isWithinSchedule(repeated, NY, at('2024-11-03T07:30:00Z'))).toBe(false); // 02:30 EST
  });

  it('handles an overnight slot that spans a European spring-forward', () => {
    const night: WeeklyInterval[] = [{ day: 6, start: '22:00', end: '03:00', overnight: true }];
    const berlin = 'Europe/Berlin';
    expect(isWithinSchedule(night, berlin, at('2024-03-30T20:59:00Z'))).toBe(false); // Sat 21:59 CET
    expect(isWithinSchedule(night, berlin, at('2024-03-30T21:00:00Z'))).toBe(true); // Sat 22:00 CET
    expect(isWithinSchedule(night, berlin, at('2024-03-31T00:30:00Z'))).toBe(true); // Sun 01:30 CET
    expect(isWithinSchedule(night, berlin, at('2024-03-31T00:59:00Z'))).toBe(true); // Sun 01:59 CET
    expect(isWithinSchedule(night, berlin, at('2024-03-31T01:00:00Z'))).toBe(false); // Sun 03:00 CEST
  });

  it('wraps Saturday night into Sunday morning', () => {
    const night: WeeklyInterval[] = [{ day: 6, start: '23:00', end: '01:00', overnight: true }];
    expect(isWithinSchedule(night, 'UTC', at('2024-06-02T00:30:00Z'))).toBe(true); // Sun 00:30
    expect(isWithinSchedule(night, 'UTC', at('2024-06-02T01:00:00Z'))).toBe(false);
  });
});

describe('available now', () => {
  const monday = at('2024-03-11T13:30:00Z');
  it('is off whenever the toggle is off', () => {
    expect(isAvailableNow({ available: false }, monday)).toBe(false);
    expect(isAvailableNow({}, monday)).toBe(false);
  });
  it('follows the toggle alone when there is no schedule', () => {
    expect(isAvailableNow({ available: true, availability: [] }, monday)).toBe(true);
  });
  it('needs both the toggle and the schedule otherwise', () => {
    const host = { available: true, time_zone: NY, availability: [{ day: 1, start: '09:00', end: '17:00' }] };
    expect(isAvailableNow(host, monday)).toBe(true);
    expect(isAvailableNow(host, at('2024-03-11T22:00:00Z'))).toBe(false);
  });
});

describe('time zones', () => {
  it('accepts IANA names and refuses others', () => {
    expect(canonicalTimeZone('America/New_York')).toBe('America/New_York');
    expect(canonicalTimeZone('UTC')).toBe('UTC');
    expect(canonicalTimeZone('Mars/Olympus_Mons')).toBeNull();
    expect(canonicalTimeZone('../etc/passwd')).toBeNull();
  });
});
