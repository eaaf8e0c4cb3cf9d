import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DuePacer } from '../../src/follow-ups/pacing.js';
import { defaultCalendar, isWithinWorkingHours, localDate, snapToWorkingTime, type WorkCalendar } from '../../src/follow-ups/working-time.js';

/** #12: follow-ups already due at planning are spread over the assignee's working time, not piled on the planning instant. */

const ZONES = ['UTC', 'Asia/Tokyo', 'Europe/Berlin', 'America/New_York', 'Australia/Sydney', 'Asia/Kolkata'];

// Working hours from 04:00: the clock changes of these zones (02:00–03:00) then never fall inside them,
// where a day has an hour more or less of working time (src/follow-ups/working-time.ts).
const calendarArb: fc.Arbitrary<WorkCalendar> = fc
  .record({
    timeZone: fc.constantFrom(...ZONES),
    startHour: fc.integer({ min: 4, max: 12 }),
    hours: fc.integer({ min: 1, max: 11 }),
    workingDays: fc.uniqueArray(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 7 }),
  })
  .map(({ timeZone, startHour, hours, workingDays }) => ({
    timeZone,
    startMinute: startHour * 60,
    endMinute: (startHour + hours) * 60,
    workingDays: workingDays.sort(),
  }));

const instantArb = fc.date({ min: new Date('2026-01-01T00:00:00Z'), max: new Date('2027-12-31T00:00:00Z'), noInvalidDate: true });

describe('DuePacer', () => {
  it('hands out increasing working moments from the first working moment, at most the daily capacity a day, evenly spaced', () => {
    fc.assert(
      fc.property(calendarArb, instantArb, fc.integer({ min: 1, max: 30 }), fc.integer({ min: 1, max: 60 }), (calendar, now, capacity, n) => {
        const pacer = new DuePacer();
        const slots = Array.from({ length: n }, () => pacer.slot('csm@example.com', now, calendar, capacity));
        expect(slots[0]!.getTime()).toBe(snapToWorkingTime(now, calendar).getTime());
        const perDay = new Map<string, number>();
        const stepMs = ((calendar.endMinute - calendar.startMinute) * 60_000) / capacity;
        for (const [i, slot] of slots.entries()) {
          expect(isWithinWorkingHours(slot, calendar), slot.toISOString()).toBe(true);
          const day = localDate(slot, calendar.timeZone);
          perDay.set(day, (perDay.get(day) ?? 0) + 1);
          if (i > 0) {
            const previous = slots[i - 1]!;
            expect(slot.getTime()).toBeGreaterThan(previous.getTime());
            // Within one day the gap is one step (DST shifts of an hour aside).
            if (localDate(previous, calendar.timeZone) === day) expect(slot.getTime() - previous.getTime()).toBeGreaterThanOrEqual(Math.floor(stepMs) - 3_600_000);
          }
        }
        for (const [day, count] of perDay) expect(count, day).toBeLessThanOrEqual(capacity);
      }),
      { numRuns: 300 },
    );
  });

  it('is deterministic and keeps assignees apart', () => {
    fc.assert(
      fc.property(calendarArb, instantArb, fc.array(fc.constantFrom('a@x', 'b@x', 'c@x'), { maxLength: 40 }), (calendar, now, assignees) => {
        const run = () => {
          const pacer = new DuePacer();
          return assignees.map((a) => pacer.slot(a, now, calendar, 8).getTime());
        };
        expect(run()).toEqual(run());
        // Each assignee's sequence is what it would be alone.
        const together = run();
        for (const who of new Set(assignees)) {
          const alone = new DuePacer();
          const mine = assignees.flatMap((a, i) => (a === who ? [together[i]] : []));
          expect(mine).toEqual(mine.map(() => alone.slot(who, now, calendar, 8).getTime()));
        }
      }),
      { numRuns: 200 },
    );
  });

  it('eight a day over 09:00–17:00 is one an hour, and the ninth is the next working morning', () => {
    const pacer = new DuePacer();
    const friday = new Date('2026-11-06T09:00:00Z');
    const slots = Array.from({ length: 10 }, () => pacer.slot('csm@example.com', friday, defaultCalendar('UTC'), 8).toISOString());
    expect(slots).toEqual([
      '2026-11-06T09:00:00.000Z',
      '2026-11-06T10:00:00.000Z',
      '2026-11-06T11:00:00.000Z',
      '2026-11-06T12:00:00.000Z',
      '2026-11-06T13:00:00.000Z',
      '2026-11-06T14:00:00.000Z',
      '2026-11-06T15:00:00.000Z',
      '2026-11-06T16:00:00.000Z',
      '2026-11-09T09:00:00.000Z',
      '2026-11-09T10:00:00.000Z',
    ]);
  });
});
