import { dayNumberToDate, fromLocalMs, isoWeekday, isValidTimeZone, toLocalMs } from '../follow-ups/working-time.js';

const MINUTE = 60_000;
const DAY = 86_400_000;

export const zoneOr = (timeZone: string | null | undefined, fallback = 'UTC') => (timeZone && isValidTimeZone(timeZone) ? timeZone : fallback);

/** The local date (`YYYY-MM-DD`), ISO weekday and minute of the day of an instant in a zone. */
export function localClock(at: Date, timeZone: string): { date: string; day: number; weekday: number; minute: number } {
  const local = toLocalMs(timeZone, at.getTime());
  const day = Math.floor(local / DAY);
  return { date: dayNumberToDate(day), day, weekday: isoWeekday(day), minute: Math.floor((local - day * DAY) / MINUTE) };
}

/** The instant of a local day number and minute in a zone. */
export const localInstant = (day: number, minute: number, timeZone: string) => new Date(fromLocalMs(timeZone, day * DAY + minute * MINUTE));

/**
 * When something due at `at` may reach a person with quiet hours
 * [start, end) (local minutes; the window may cross midnight): `at` itself
 * outside them, else the end of the window. Null quiet hours: `at`.
 */
export function afterQuietHours(at: Date, timeZone: string, start: number | null, end: number | null): Date {
  if (start === null || end === null || start === end) return at;
  const { day, minute } = localClock(at, timeZone);
  if (start < end) return minute >= start && minute < end ? localInstant(day, end, timeZone) : at;
  if (minute >= start) return localInstant(day + 1, end, timeZone);
  if (minute < end) return localInstant(day, end, timeZone);
  return at;
}

/** `HH:MM` of minutes after midnight. */
export const clockText = (minute: number) => `${String(Math.floor(minute / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}`;

/** Minutes after midnight of `HH:MM` (00:00–23:59). */
export function parseClockText(text: string): number | undefined {
  const m = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(text);
  return m ? Number(m[1]) * 60 + Number(m[2]) : undefined;
}
