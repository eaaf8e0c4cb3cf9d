/**
 * Working-time arithmetic: pure functions over instants (`Date`) and a work
 * calendar (time zone, daily working hours, working days). No date library:
 * zone offsets come from `Intl.DateTimeFormat`, so daylight-saving changes
 * follow the runtime's tz database.
 *
 * Semantics (docs/follow-ups.md has worked examples):
 *
 * - Working hours are a closed interval per working day, local time:
 *   09:00–17:00 contains both 09:00 and 17:00, so a deadline can land at the
 *   end of a day ("by Tuesday 17:00") rather than at the next day's start.
 * - `{ businessDays: n }` adds n × the working-day length of working time
 *   (8 h for 09:00–17:00): time outside working hours and on non-working days
 *   does not count. Friday 17:00 + 2 business days = Tuesday 17:00. A start
 *   outside working hours counts from the next working start. Fractions work
 *   (0.5 = half a working day).
 * - `{ hours: n }` is a calendar deadline: the latest working moment at or
 *   before start + n hours, or, when no working time lies between start and
 *   that point, the next working moment after start. So a 48 h deadline that
 *   falls on a Sunday becomes Friday 17:00.
 * - Local times that do not exist (the hour skipped when clocks go forward)
 *   are shifted forward by the gap; ambiguous ones (clocks going back) take
 *   one of the two readings. Working hours rarely touch either.
 */

export interface WorkCalendar {
  /** IANA time zone, e.g. `Asia/Tokyo`. */
  timeZone: string;
  /** Start of working hours, minutes after local midnight (540 = 09:00). */
  startMinute: number;
  /** End of working hours, minutes after local midnight, after the start; at most 1440 (24:00). */
  endMinute: number;
  /** ISO weekdays that are working days: 1 = Monday … 7 = Sunday. Not empty. */
  workingDays: readonly number[];
}

export type WorkingDuration = { businessDays: number } | { hours: number };

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

/** 09:00–17:00, Monday to Friday, UTC: what anyone without a calendar of their own works. */
export const DEFAULT_WORKING_HOURS = { startMinute: 9 * 60, endMinute: 17 * 60, workingDays: [1, 2, 3, 4, 5] } as const;

export const defaultCalendar = (timeZone = 'UTC'): WorkCalendar => ({ timeZone, ...DEFAULT_WORKING_HOURS });

/** Days searched before giving up (a calendar always has a working day within a week). */
const SEARCH_DAYS = 40_000;

/* ------------------------------------------------------------------ */
/* Zone offsets                                                        */
/* ------------------------------------------------------------------ */

const formatters = new Map<string, Intl.DateTimeFormat>();
const validZones = new Map<string, boolean>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      era: 'short',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Whether the runtime knows this IANA zone name. */
export function isValidTimeZone(timeZone: string): boolean {
  let valid = validZones.get(timeZone);
  if (valid === undefined) {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone });
      valid = timeZone.length > 0;
    } catch {
      valid = false;
    }
    if (validZones.size > 10_000) validZones.clear();
    validZones.set(timeZone, valid);
  }
  return valid;
}

/** The zone when it is a valid IANA name, else the fallback (UTC by default). */
export const timeZoneOr = (timeZone: string | null | undefined, fallback = 'UTC') =>
  timeZone && isValidTimeZone(timeZone) ? timeZone : fallback;

function computeOffset(timeZone: string, ms: number): number {
  const whole = ms - (((ms % 1000) + 1000) % 1000);
  const parts = formatterFor(timeZone).formatToParts(new Date(whole));
  const get = (type: Intl.DateTimeFormatPartTypes) => Number(parts.find((p) => p.type === type)!.value);
  let year = get('year');
  if (parts.find((p) => p.type === 'era')?.value === 'BC') year = 1 - year;
  const asUtc = Date.UTC(year, get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  // Date.UTC maps years 0–99 to 1900–1999; correct for them.
  const fixed = year >= 0 && year < 100 ? new Date(asUtc).setUTCFullYear(year) : asUtc;
  return fixed - whole;
}

/**
 * Offsets cached per zone and UTC quarter hour: tz database transitions since
 * the 1970s all fall on quarter hours of UTC, so an offset holds for a bucket.
 */
const offsetCache = new Map<string, Map<number, number>>();
let cachedOffsets = 0;
const QUARTER = 15 * MINUTE;

/** Milliseconds to add to an instant to read the wall clock in the zone. */
export function zoneOffset(timeZone: string, ms: number): number {
  if (timeZone === 'UTC' || timeZone === 'Etc/UTC') return 0;
  let zone = offsetCache.get(timeZone);
  if (!zone) {
    zone = new Map();
    offsetCache.set(timeZone, zone);
  }
  const bucket = Math.floor(ms / QUARTER);
  let offset = zone.get(bucket);
  if (offset === undefined) {
    offset = computeOffset(timeZone, bucket * QUARTER);
    if (cachedOffsets > 500_000) {
      offsetCache.clear();
      cachedOffsets = 0;
      zone = new Map();
      offsetCache.set(timeZone, zone);
    }
    zone.set(bucket, offset);
    cachedOffsets += 1;
  }
  return offset;
}

/** Wall-clock milliseconds (as if UTC) of an instant in the zone. */
export const toLocalMs = (timeZone: string, ms: number) => ms + zoneOffset(timeZone, ms);

/**
 * The instant of a wall-clock time in the zone. A time skipped by a forward
 * change is shifted forward by the gap.
 */
export function fromLocalMs(timeZone: string, localMs: number): number {
  const o1 = zoneOffset(timeZone, localMs);
  let utc = localMs - o1;
  const o2 = zoneOffset(timeZone, utc);
  if (o1 === o2) return utc;
  utc -= o2 - o1;
  const o3 = zoneOffset(timeZone, utc);
  if (o2 === o3) return utc;
  return localMs - Math.min(o2, o3);
}

/* ------------------------------------------------------------------ */
/* Local days                                                          */
/* ------------------------------------------------------------------ */

/** Days since 1970-01-01 of the local date of an instant. */
export const localDayNumber = (timeZone: string, ms: number) => Math.floor(toLocalMs(timeZone, ms) / DAY);

/** Milliseconds since local midnight. */
export const localTimeOfDay = (timeZone: string, ms: number) => {
  const local = toLocalMs(timeZone, ms);
  return local - Math.floor(local / DAY) * DAY;
};

/** ISO weekday (1 = Monday … 7 = Sunday) of a day number. */
export const isoWeekday = (day: number) => ((((day + 3) % 7) + 7) % 7) + 1;

/** `YYYY-MM-DD` of a day number. */
export const dayNumberToDate = (day: number) => new Date(day * DAY).toISOString().slice(0, 10);

/** Day number of a `YYYY-MM-DD` date. */
export function dateToDayNumber(date: string): number {
  const ms = Date.parse(`${date}T00:00:00Z`);
  if (!Number.isFinite(ms)) throw new RangeError(`not a date: ${date}`);
  return Math.round(ms / DAY);
}

/** The local date (`YYYY-MM-DD`) of an instant in the zone. */
export const localDate = (instant: Date, timeZone: string) => dayNumberToDate(localDayNumber(timeZone, instant.getTime()));

/** The instant of local midnight (or the first moment after it) of a date in the zone. */
export const startOfLocalDate = (date: string, timeZone: string) => new Date(fromLocalMs(timeZone, dateToDayNumber(date) * DAY));

/* ------------------------------------------------------------------ */
/* Working intervals                                                   */
/* ------------------------------------------------------------------ */

export function checkCalendar(calendar: WorkCalendar): void {
  const { startMinute: s, endMinute: e, workingDays } = calendar;
  if (!Number.isInteger(s) || !Number.isInteger(e) || s < 0 || e > 1440 || s >= e) {
    throw new RangeError(`working hours must satisfy 0 <= start < end <= 1440 minutes (got ${s}–${e})`);
  }
  if (workingDays.length === 0 || workingDays.some((d) => !Number.isInteger(d) || d < 1 || d > 7)) {
    throw new RangeError('working days must be a non-empty list of ISO weekdays 1–7');
  }
  if (!isValidTimeZone(calendar.timeZone)) throw new RangeError(`unknown time zone: ${calendar.timeZone}`);
}

const isWorkingDay = (calendar: WorkCalendar, day: number) => calendar.workingDays.includes(isoWeekday(day));

/** [start, end] instants of a day's working hours, or undefined on a day off. */
function interval(calendar: WorkCalendar, day: number): [number, number] | undefined {
  if (!isWorkingDay(calendar, day)) return undefined;
  const start = fromLocalMs(calendar.timeZone, day * DAY + calendar.startMinute * MINUTE);
  const end = fromLocalMs(calendar.timeZone, day * DAY + calendar.endMinute * MINUTE);
  return end > start ? [start, end] : undefined;
}

/** Whether the instant lies within working hours (both ends included). */
export function isWithinWorkingHours(instant: Date, calendar: WorkCalendar): boolean {
  const t = instant.getTime();
  const today = localDayNumber(calendar.timeZone, t);
  for (const day of [today - 1, today]) {
    const span = interval(calendar, day);
    if (span && span[0] <= t && t <= span[1]) return true;
  }
  return false;
}

/** The first working moment at or after the instant ("snap forward"). */
export function snapToWorkingTime(instant: Date, calendar: WorkCalendar): Date {
  return addWorkingTime(instant, { businessDays: 0 }, calendar);
}

/** The last working moment at or before the instant. */
export function latestWorkingMoment(instant: Date, calendar: WorkCalendar): Date {
  checkCalendar(calendar);
  const t = instant.getTime();
  let day = localDayNumber(calendar.timeZone, t) + 1;
  for (let i = 0; i < SEARCH_DAYS; i++, day--) {
    const span = interval(calendar, day);
    if (span && span[0] <= t) return new Date(Math.min(t, span[1]));
  }
  throw new RangeError('no working time found in the calendar');
}

/**
 * Adds working time; see the module comment for the semantics. The result is
 * always within working hours and never before `start`.
 */
export function addWorkingTime(start: Date, duration: WorkingDuration, calendar: WorkCalendar): Date {
  checkCalendar(calendar);
  const t0 = start.getTime();
  if (!Number.isFinite(t0)) throw new RangeError('start is not a valid date');
  if ('hours' in duration) {
    if (!(duration.hours >= 0) || !Number.isFinite(duration.hours)) throw new RangeError('hours must be a finite number >= 0');
    const latest = latestWorkingMoment(new Date(t0 + duration.hours * HOUR), calendar);
    return latest.getTime() >= t0 ? latest : addWorkingTime(start, { businessDays: 0 }, calendar);
  }
  if (!(duration.businessDays >= 0) || !Number.isFinite(duration.businessDays)) {
    throw new RangeError('businessDays must be a finite number >= 0');
  }
  let remaining = Math.round(duration.businessDays * (calendar.endMinute - calendar.startMinute) * MINUTE);
  let cur = t0;
  let day = localDayNumber(calendar.timeZone, t0) - 1;
  for (let i = 0; i < SEARCH_DAYS; i++, day++) {
    const span = interval(calendar, day);
    if (!span || cur > span[1]) continue;
    cur = Math.max(cur, span[0]);
    const available = span[1] - cur;
    if (remaining <= available) return new Date(cur + remaining);
    remaining -= available;
    cur = span[1];
  }
  throw new RangeError('no working time found in the calendar');
}

/* ------------------------------------------------------------------ */
/* Days, for capacity                                                  */
/* ------------------------------------------------------------------ */

/** The next working day number after `day`. */
export function nextWorkingDay(day: number, calendar: WorkCalendar): number {
  for (let d = day + 1; d < day + 8; d++) if (isWorkingDay(calendar, d)) return d;
  throw new RangeError('working days must not be empty');
}

/**
 * The moment on a (working) day at the given local time of day, clamped into
 * working hours: "same local time, or the day's start/end".
 */
export function atLocalTime(day: number, timeOfDayMs: number, calendar: WorkCalendar): Date {
  const clamped = Math.min(Math.max(timeOfDayMs, calendar.startMinute * MINUTE), calendar.endMinute * MINUTE);
  const t = fromLocalMs(calendar.timeZone, day * DAY + clamped);
  const moment = new Date(t);
  return isWithinWorkingHours(moment, calendar) ? moment : snapToWorkingTime(moment, calendar);
}

/** `HH:MM` ↔ minutes after midnight. */
export function parseClock(text: string): number | undefined {
  const m = /^([01]\d|2[0-4]):([0-5]\d)$/.exec(text);
  if (!m) return undefined;
  const minutes = Number(m[1]) * 60 + Number(m[2]);
  return minutes <= 1440 ? minutes : undefined;
}

export const formatClock = (minutes: number) =>
  `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
