import fc from 'fast-check';
import cron from 'node-cron';
import { describe, expect, it } from 'vitest';
import {
  CLOCK_TOLERANCE_MS,
  compileCron,
  CronError,
  dueOccurrences,
  nextOccurrence,
  occurrencesBetween,
  previousOccurrence,
} from '../../src/jobs/cron.js';

const at = (iso: string) => new Date(iso).getTime();
const iso = (d: Date) => d.toISOString();

describe('occurrences of a cron expression (UTC)', () => {
  it.each([
    // expression, time, previous (≤ time), next (> time)
    ['17 * * * *', '2026-03-10T10:16:59.999Z', '2026-03-10T09:17:00.000Z', '2026-03-10T10:17:00.000Z'],
    ['17 * * * *', '2026-03-10T10:17:00.000Z', '2026-03-10T10:17:00.000Z', '2026-03-10T11:17:00.000Z'],
    ['17 * * * *', '2026-03-10T10:17:00.500Z', '2026-03-10T10:17:00.000Z', '2026-03-10T11:17:00.000Z'],
    ['23 3 * * *', '2026-01-01T00:00:00.000Z', '2025-12-31T03:23:00.000Z', '2026-01-01T03:23:00.000Z'],
    ['0 0 29 2 *', '2026-06-01T00:00:00.000Z', '2024-02-29T00:00:00.000Z', '2028-02-29T00:00:00.000Z'],
    ['0 9 * * 1', '2026-11-25T12:00:00.000Z', '2026-11-23T09:00:00.000Z', '2026-11-30T09:00:00.000Z'],
    ['0 9 * * mon-fri', '2026-11-28T12:00:00.000Z', '2026-11-27T09:00:00.000Z', '2026-11-30T09:00:00.000Z'],
    ['*/15 * * * * *', '2026-03-10T10:00:14.999Z', '2026-03-10T10:00:00.000Z', '2026-03-10T10:00:15.000Z'],
    ['* * * * * *', '2026-03-10T10:00:14.999Z', '2026-03-10T10:00:14.000Z', '2026-03-10T10:00:15.000Z'],
    ['@daily', '2026-03-10T10:00:00.000Z', '2026-03-10T00:00:00.000Z', '2026-03-11T00:00:00.000Z'],
    ['0 0 1 * *', '2026-03-01T00:00:00.000Z', '2026-03-01T00:00:00.000Z', '2026-04-01T00:00:00.000Z'],
    ['59 23 31 12 *', '2026-12-31T23:59:00.000Z', '2026-12-31T23:59:00.000Z', '2027-12-31T23:59:00.000Z'],
  ])('%s at %s: previous %s, next %s', (expression, time, previous, next) => {
    const c = compileCron(expression);
    expect(iso(previousOccurrence(c, at(time)))).toBe(previous);
    expect(iso(nextOccurrence(c, at(time)))).toBe(next);
  });

  it('knows the granularity: seconds with six fields, minutes with five', () => {
    expect(compileCron('* * * * * *').granularityMs).toBe(1000);
    expect(compileCron('17 * * * *').granularityMs).toBe(60_000);
    expect(compileCron('@hourly').granularityMs).toBe(60_000);
  });

  it('rejects what it cannot evaluate the way every scheduler would', () => {
    expect(() => compileCron('61 * * * *')).toThrow(CronError);
    expect(() => compileCron('* * * *')).toThrow(/5 or 6 fields/);
    expect(() => compileCron('0 0 L * *')).toThrow(/L, W and #/);
    expect(() => compileCron('0 0 * * 5#2')).toThrow(/L, W and #/);
    // Vixie cron ORs these two fields, node-cron ANDs them.
    expect(() => compileCron('0 0 13 * 5')).toThrow(/not both/);
  });

  it('agrees with node-cron’s own matcher: the occurrences it names match, and nothing in between does', () => {
    const expressions = ['*/7 * * * *', '5,35 */2 * * *', '0 9-17 * * 1-5', '30 4 * * 0', '0 0 1,15 * *', '*/20 * * * * *'];
    const tasks = expressions.map((e) => cron.createTask(e, () => {}, { timezone: 'UTC' }));
    try {
      fc.assert(
        fc.property(fc.integer({ min: 0, max: expressions.length - 1 }), fc.date({ min: new Date('2020-01-01'), max: new Date('2035-01-01'), noInvalidDate: true }), (i, date) => {
          const c = compileCron(expressions[i]!);
          const task = tasks[i]!;
          const t = date.getTime();
          const prev = previousOccurrence(c, t);
          const next = nextOccurrence(c, t);
          expect(prev.getTime()).toBeLessThanOrEqual(t);
          expect(next.getTime()).toBeGreaterThan(t);
          expect(task.match(prev)).toBe(true);
          expect(task.match(next)).toBe(true);
          expect(nextOccurrence(c, prev).getTime()).toBe(next.getTime());
          expect(previousOccurrence(c, next.getTime() - 1).getTime()).toBe(prev.getTime());
          // Nothing between them matches (checked on the expression's own granularity;
          // node-cron's matcher is slow, so only across gaps of up to a day or so).
          if ((next.getTime() - prev.getTime()) / c.granularityMs > 1500) return;
          for (let s = prev.getTime() + c.granularityMs; s < next.getTime(); s += c.granularityMs) {
            if (task.match(new Date(s))) throw new Error(`${expressions[i]} matches ${new Date(s).toISOString()}`);
          }
        }),
        { numRuns: 120 },
      );
    } finally {
      for (const task of tasks) void task.destroy();
    }
  });

  it('lists the occurrences in an interval, oldest first', () => {
    const c = compileCron('*/10 * * * * *');
    expect(occurrencesBetween(c, at('2026-03-10T10:00:00Z'), at('2026-03-10T10:00:35Z')).map(iso)).toEqual([
      '2026-03-10T10:00:10.000Z',
      '2026-03-10T10:00:20.000Z',
      '2026-03-10T10:00:30.000Z',
    ]);
  });
});

describe('which occurrences are due on a replica', () => {
  const hourly = compileCron('0 * * * *');
  const B = at('2026-03-10T10:00:00Z');

  it('at start-up: only the latest occurrence, a catch-up when it is older than the tolerance', () => {
    expect(dueOccurrences(hourly, undefined, B + 5_000)).toEqual([{ scheduledFor: new Date(B), trigger: 'schedule' }]);
    expect(dueOccurrences(hourly, undefined, B + 25 * 60_000)).toEqual([{ scheduledFor: new Date(B), trigger: 'catch-up' }]);
  });

  it('nothing new once the latest occurrence has been looked at', () => {
    expect(dueOccurrences(hourly, B, B + 59 * 60_000)).toEqual([]);
  });

  it('after a long outage of the replica: one catch-up of the latest occurrence, not one per missed occurrence', () => {
    expect(dueOccurrences(hourly, B - 5 * 3_600_000, B + 10 * 60_000)).toEqual([{ scheduledFor: new Date(B), trigger: 'catch-up' }]);
  });

  it('after a short stall: every occurrence of the last 30 s, oldest first, and nothing older', () => {
    const everySecond = compileCron('* * * * * *');
    const due = dueOccurrences(everySecond, B - 1000, B + 9_400);
    expect(due.map((d) => d.scheduledFor.getTime())).toEqual(Array.from({ length: 10 }, (_, i) => B + i * 1000));
    expect(due.every((d) => d.trigger === 'schedule')).toBe(true);
    const long = dueOccurrences(everySecond, B - 1000, B + 100_000);
    expect(long[0]!.scheduledFor.getTime()).toBe(B + 100_000 - CLOCK_TOLERANCE_MS);
    expect(long.at(-1)!.scheduledFor.getTime()).toBe(B + 100_000);
  });

  /**
   * Replicas whose clocks are off by up to ±30 s, each looking every second
   * of true time around an hourly boundary B (their cursors: the previous
   * occurrence, already handled).
   */
  it.each([-30_000, -29_999, -10_000, -1, 0, 1, 10_000, 29_999, 30_000])(
    'a clock off by %i ms names the same occurrence, when its own clock reaches it, and never the next one',
    (skew) => {
      let cursor: number | undefined = B - 3_600_000;
      const named: { occurrence: number; trueTime: number }[] = [];
      for (let trueTime = B - 3 * 60_000; trueTime <= B + 3 * 60_000; trueTime += 250) {
        const local = trueTime + skew;
        for (const d of dueOccurrences(hourly, cursor, local)) {
          named.push({ occurrence: d.scheduledFor.getTime(), trueTime });
          cursor = d.scheduledFor.getTime();
        }
      }
      // Exactly one occurrence named: B, neither the previous one again nor the next one early.
      expect(named.map((n) => new Date(n.occurrence).toISOString())).toEqual([new Date(B).toISOString()]);
      // Named as soon as the replica's own clock reached B (looks every 250 ms of true time).
      const when = named[0]!.trueTime;
      expect(when).toBeGreaterThanOrEqual(B - skew);
      expect(when).toBeLessThan(B - skew + 250);
      // So within the tolerance of B in true time: a fast clock is early by its skew at most, a slow one late by it.
      expect(Math.abs(when - B)).toBeLessThanOrEqual(CLOCK_TOLERANCE_MS + 250);
    },
  );

  it('a tick a moment before the boundary (timer or clock) does not attribute itself to the next occurrence', () => {
    expect(dueOccurrences(hourly, B - 3_600_000, B - 1)).toEqual([]);
    expect(dueOccurrences(hourly, B - 3_600_000, B)).toEqual([{ scheduledFor: new Date(B), trigger: 'schedule' }]);
  });

  it('a period shorter than the skew: between them, replicas with clocks ±30 s apart name every occurrence', () => {
    const tenSeconds = compileCron('*/10 * * * * *');
    const skews = [-30_000, 0, 30_000];
    const cursors: (number | undefined)[] = skews.map(() => undefined);
    const named = new Map<number, number>();
    for (let trueTime = B; trueTime <= B + 120_000; trueTime += 1000) {
      skews.forEach((skew, r) => {
        for (const d of dueOccurrences(tenSeconds, cursors[r], trueTime + skew)) {
          named.set(d.scheduledFor.getTime(), (named.get(d.scheduledFor.getTime()) ?? 0) + 1);
          cursors[r] = d.scheduledFor.getTime();
        }
      });
    }
    // Every replica names every occurrence it reaches (the database lets one of them run it);
    // together they cover B - 30 s to B + 150 s with no gap.
    const occurrences = [...named.keys()].sort((a, b) => a - b);
    expect(occurrences[0]).toBe(B - 30_000);
    expect(occurrences.at(-1)).toBe(B + 150_000);
    for (let i = 1; i < occurrences.length; i++) expect(occurrences[i]! - occurrences[i - 1]!).toBe(10_000);
  });
});
