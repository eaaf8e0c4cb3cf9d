import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CapacityBook } from '../../src/follow-ups/planner.js';
import {
  addWorkingTime,
  defaultCalendar,
  isWithinWorkingHours,
  latestWorkingMoment,
  localDate,
  snapToWorkingTime,
  type WorkCalendar,
} from '../../src/follow-ups/working-time.js';

/** Wall clock in a zone, read by Intl independently of the code under test: `2026-11-10 Tue 17:00`. */
function wall(instant: Date, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    weekday: 'short',
    hour: '2-digit',
    minute: '2-digit',
  }).formatToParts(instant);
  const get = (t: string) => parts.find((p) => p.type === t)!.value;
  return `${get('year')}-${get('month')}-${get('day')} ${get('weekday')} ${get('hour')}:${get('minute')}`;
}

const tokyo = defaultCalendar('Asia/Tokyo');
const berlin = defaultCalendar('Europe/Berlin');
const newYork = defaultCalendar('America/New_York');

describe('business days', () => {
  it('Friday 17:00 in Tokyo + 2 business days is Tuesday 17:00 Tokyo', () => {
    const due = addWorkingTime(new Date('2026-11-06T17:00:00+09:00'), { businessDays: 2 }, tokyo);
    expect(wall(due, 'Asia/Tokyo')).toBe('2026-11-10 Tue 17:00');
    expect(due.toISOString()).toBe('2026-11-10T08:00:00.000Z');
  });

  it('counts only working time: Thursday 13:00 + 3 business days is Tuesday 13:00', () => {
    expect(wall(addWorkingTime(new Date('2026-11-05T13:00:00+01:00'), { businessDays: 3 }, berlin), 'Europe/Berlin')).toBe('2026-11-10 Tue 13:00');
  });

  it('keeps local working hours across the spring DST change in Europe/Berlin', () => {
    // Clocks go forward on Sunday 29 March 2026: +01:00 on Friday, +02:00 on Tuesday.
    const due = addWorkingTime(new Date('2026-03-27T17:00:00+01:00'), { businessDays: 2 }, berlin);
    expect(wall(due, 'Europe/Berlin')).toBe('2026-03-31 Tue 17:00');
    expect(due.toISOString()).toBe('2026-03-31T15:00:00.000Z');
  });

  it('keeps local working hours across the autumn DST change in America/New_York', () => {
    // Clocks go back on Sunday 1 November 2026: -04:00 on Friday, -05:00 on Monday.
    const due = addWorkingTime(new Date('2026-10-30T15:00:00-04:00'), { businessDays: 1 }, newYork);
    expect(wall(due, 'America/New_York')).toBe('2026-11-02 Mon 15:00');
    expect(due.toISOString()).toBe('2026-11-02T20:00:00.000Z');
  });

  it('counts from the next working start when the start is outside working hours', () => {
    // 03:00 on a Wednesday: the day starts at 09:00, so 1 business day ends 17:00 the same day.
    expect(wall(addWorkingTime(new Date('2026-11-04T03:00:00-05:00'), { businessDays: 1 }, newYork), 'America/New_York')).toBe('2026-11-04 Wed 17:00');
    // Saturday noon: counts from Monday 09:00.
    expect(wall(addWorkingTime(new Date('2026-11-07T12:00:00+09:00'), { businessDays: 0.5 }, tokyo), 'Asia/Tokyo')).toBe('2026-11-09 Mon 13:00');
    // 0 business days snaps forward; a working moment stays put.
    expect(wall(snapToWorkingTime(new Date('2026-11-06T18:30:00+09:00'), tokyo), 'Asia/Tokyo')).toBe('2026-11-09 Mon 09:00');
    expect(wall(snapToWorkingTime(new Date('2026-11-06T11:30:00+09:00'), tokyo), 'Asia/Tokyo')).toBe('2026-11-06 Fri 11:30');
  });

  it('follows custom working days and hours', () => {
    // Sunday to Thursday, 08:00–16:00 in Dubai: Thursday 15:00 + 1 business day is Sunday 15:00.
    const dubai: WorkCalendar = { timeZone: 'Asia/Dubai', startMinute: 480, endMinute: 960, workingDays: [7, 1, 2, 3, 4] };
    expect(wall(addWorkingTime(new Date('2026-11-05T15:00:00+04:00'), { businessDays: 1 }, dubai), 'Asia/Dubai')).toBe('2026-11-08 Sun 15:00');
  });
});

describe('calendar-hour deadlines', () => {
  it('a 48 h deadline landing on a weekend becomes Friday 17:00', () => {
    const due = addWorkingTime(new Date('2026-11-06T10:00:00-05:00'), { hours: 48 }, newYork);
    expect(wall(due, 'America/New_York')).toBe('2026-11-06 Fri 17:00');
  });

  it('a 48 h deadline inside working hours stays exactly 48 h later', () => {
    expect(wall(addWorkingTime(new Date('2026-11-03T10:15:00+01:00'), { hours: 48 }, berlin), 'Europe/Berlin')).toBe('2026-11-05 Thu 10:15');
  });

  it('lands on the next working start when no working time lies between start and deadline', () => {
    // Saturday 10:00 + 2 h: the latest working moment before is Friday, before the start.
    expect(wall(addWorkingTime(new Date('2026-11-07T10:00:00-05:00'), { hours: 2 }, newYork), 'America/New_York')).toBe('2026-11-09 Mon 09:00');
    // Friday 20:00 + 48 h ends Sunday: Friday 17:00 is before the start, so Monday 09:00.
    expect(wall(addWorkingTime(new Date('2026-11-06T20:00:00+09:00'), { hours: 48 }, tokyo), 'Asia/Tokyo')).toBe('2026-11-09 Mon 09:00');
  });
});

describe('properties', () => {
  const zones = [
    'UTC',
    'Asia/Tokyo',
    'Europe/Berlin',
    'America/New_York',
    'Australia/Sydney',
    'Asia/Kolkata',
    'Asia/Kathmandu',
    'America/St_Johns',
    'Pacific/Auckland',
    'Australia/Lord_Howe',
    'America/Sao_Paulo',
  ];
  const calendar: fc.Arbitrary<WorkCalendar> = fc
    .record({
      timeZone: fc.constantFrom(...zones),
      start: fc.integer({ min: 5 * 4, max: 13 * 4 }),
      length: fc.integer({ min: 4, max: 10 * 4 }),
      workingDays: fc.uniqueArray(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 7 }),
    })
    .map(({ timeZone, start, length, workingDays }) => ({
      timeZone,
      startMinute: start * 15,
      endMinute: Math.min(start * 15 + length * 15, 23 * 60),
      workingDays,
    }));
  const instant = fc.integer({ min: Date.UTC(2020, 0, 1), max: Date.UTC(2035, 0, 1) }).map((ms) => new Date(ms));
  const duration = fc.oneof(
    fc.integer({ min: 0, max: 40 }).map((n) => ({ businessDays: n / 4 })),
    fc.integer({ min: 0, max: 24 * 20 }).map((hours) => ({ hours })),
  );

  /** Inside working hours by an independent reading of the wall clock. */
  function insideByIntl(due: Date, cal: WorkCalendar): boolean {
    const text = wall(due, cal.timeZone);
    const [, weekday, clock] = text.split(' ');
    const iso = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'].indexOf(weekday!) + 1;
    const [h, m] = clock!.split(':').map(Number);
    const minute = h! * 60 + m!;
    const seconds = due.getUTCSeconds() + due.getUTCMilliseconds();
    return cal.workingDays.includes(iso) && minute >= cal.startMinute && (minute < cal.endMinute || (minute === cal.endMinute && seconds === 0));
  }

  it('a due time is always inside working hours and never before the start', () => {
    fc.assert(
      fc.property(instant, duration, calendar, (start, d, cal) => {
        const due = addWorkingTime(start, d, cal);
        expect(due.getTime()).toBeGreaterThanOrEqual(start.getTime());
        expect(isWithinWorkingHours(due, cal)).toBe(true);
        expect(insideByIntl(due, cal)).toBe(true);
      }),
      { numRuns: 400 },
    );
  });

  it('more business days never give an earlier due time', () => {
    fc.assert(
      fc.property(instant, calendar, fc.integer({ min: 0, max: 60 }), fc.integer({ min: 0, max: 20 }), (start, cal, a, extra) => {
        const earlier = addWorkingTime(start, { businessDays: a / 4 }, cal);
        const later = addWorkingTime(start, { businessDays: (a + extra) / 4 }, cal);
        expect(later.getTime()).toBeGreaterThanOrEqual(earlier.getTime());
      }),
      { numRuns: 300 },
    );
  });

  it('more calendar hours never give an earlier due time, and never a later one than the deadline unless nothing fits', () => {
    fc.assert(
      fc.property(instant, calendar, fc.integer({ min: 0, max: 200 }), fc.integer({ min: 0, max: 100 }), (start, cal, h, extra) => {
        const a = addWorkingTime(start, { hours: h }, cal);
        const b = addWorkingTime(start, { hours: h + extra }, cal);
        expect(b.getTime()).toBeGreaterThanOrEqual(a.getTime());
        const deadline = start.getTime() + h * 3_600_000;
        if (a.getTime() > deadline) {
          // Only when no working moment lies in [start, deadline].
          expect(latestWorkingMoment(new Date(deadline), cal).getTime()).toBeLessThan(start.getTime());
        }
      }),
      { numRuns: 300 },
    );
  });

  it('business days add up: (start + a) + b = start + (a + b)', () => {
    fc.assert(
      fc.property(instant, calendar, fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 20 }), (start, cal, a, b) => {
        const stepwise = addWorkingTime(addWorkingTime(start, { businessDays: a / 4 }, cal), { businessDays: b / 4 }, cal);
        expect(stepwise.toISOString()).toBe(addWorkingTime(start, { businessDays: (a + b) / 4 }, cal).toISOString());
      }),
      { numRuns: 200 },
    );
  });

  it('from the start of a working day, one business day ends exactly one working-day length later', () => {
    fc.assert(
      fc.property(instant, calendar, (start, cal) => {
        // Snapping a moment after the day's end gives the next working day's start.
        const open = snapToWorkingTime(new Date(latestWorkingMoment(start, cal).getTime() + 1), cal);
        const due = addWorkingTime(open, { businessDays: 1 }, cal);
        if (localDate(open, cal.timeZone) === localDate(due, cal.timeZone) && !isWithinWorkingHours(new Date(open.getTime() - 1), cal)) {
          expect(due.getTime() - open.getTime()).toBe((cal.endMinute - cal.startMinute) * 60_000);
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('capacity', () => {
  it('spreads a day over the next working days at the same local time', () => {
    const book = new CapacityBook();
    const due = new Date('2026-11-06T17:00:00+09:00'); // Friday 17:00 Tokyo
    const placed = Array.from({ length: 7 }, () => book.book('csm@example.com', due, tokyo, 3));
    expect(placed.map((p) => wall(p.due, 'Asia/Tokyo'))).toEqual([
      '2026-11-06 Fri 17:00',
      '2026-11-06 Fri 17:00',
      '2026-11-06 Fri 17:00',
      '2026-11-09 Mon 17:00',
      '2026-11-09 Mon 17:00',
      '2026-11-09 Mon 17:00',
      '2026-11-10 Tue 17:00',
    ]);
    expect(placed.map((p) => p.moved)).toEqual([false, false, false, true, true, true, true]);
    // Another assignee is not affected.
    expect(book.book('other@example.com', due, tokyo, 3).moved).toBe(false);
  });

  it('counts what is already booked, and moves across a DST change keeping the local time', () => {
    const book = new CapacityBook();
    const friday = new Date('2026-03-27T10:30:00+01:00');
    const fridayDay = Math.floor((friday.getTime() + 3_600_000) / 86_400_000);
    book.load([{ assignee: 'a@example.com', day: fridayDay, n: 2 }]);
    const placed = book.book('a@example.com', friday, berlin, 2);
    expect(placed.moved).toBe(true);
    expect(wall(placed.due, 'Europe/Berlin')).toBe('2026-03-30 Mon 10:30');
  });

  it('spreads thousands without slowing down (skip pointers)', () => {
    const book = new CapacityBook();
    const due = new Date('2026-11-02T09:00:00Z');
    const cal = defaultCalendar('UTC');
    const started = performance.now();
    let last = due;
    for (let i = 0; i < 5_000; i++) last = book.book('x@example.com', due, cal, 8).due;
    expect(performance.now() - started).toBeLessThan(2_000);
    // 5,000 at 8 a day: 625 working days, the last on the 625th.
    expect(isWithinWorkingHours(last, cal)).toBe(true);
    expect(Math.round((last.getTime() - due.getTime()) / 86_400_000)).toBe(Math.floor(624 / 5) * 7 + (624 % 5));
  });
});
