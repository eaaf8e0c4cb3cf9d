import { validateDetailed } from 'node-cron';
import type { JobTrigger } from './tables.js';

/**
 * Cron expressions of the job scheduler, evaluated in UTC. node-cron parses
 * and validates them (ranges, steps, lists, names, @nicknames; the same
 * syntax its scheduler and Cloudflare's Cron Triggers read); it has no "the
 * occurrence before/after t" of its own, so those are computed here from its
 * parsed fields. Node only: Workers get the occurrence from Cloudflare.
 */
export interface CompiledCron {
  expression: string;
  /** 1000 when the expression has a seconds field, else 60 000: occurrences fall on these. */
  granularityMs: number;
  seconds: number[];
  minutes: number[];
  hours: number[];
  /** null: any day. */
  daysOfMonth: ReadonlySet<number> | null;
  months: ReadonlySet<number>;
  /** 0 = Sunday; null: any weekday. */
  daysOfWeek: ReadonlySet<number> | null;
}

export class CronError extends Error {
  constructor(expression: string, reason: string) {
    super(`cron expression '${expression}': ${reason}`);
    this.name = 'CronError';
  }
}

const DAY_MS = 86_400_000;
// Feb 29 on a given weekday recurs within 28 years (40 across a skipped leap year).
const MAX_DAYS = 366 * 41;
const cache = new Map<string, CompiledCron>();

export function compileCron(expression: string): CompiledCron {
  const hit = cache.get(expression);
  if (hit) return hit;
  const result = validateDetailed(expression);
  if (!result.valid || !result.fields) {
    throw new CronError(expression, result.errors.map((e) => e.message).join('; ') || 'invalid');
  }
  const f = result.fields;
  if ([...f.dayOfMonth, ...f.dayOfWeek].some((v) => typeof v !== 'number')) {
    throw new CronError(expression, 'L, W and # are not supported by the job scheduler');
  }
  const dom = new Set(f.dayOfMonth as number[]);
  const dow = new Set((f.dayOfWeek as number[]).map((d) => d % 7));
  const anyDom = dom.size === 31;
  const anyDow = dow.size === 7;
  if (!anyDom && !anyDow) {
    // Vixie cron ORs the two fields, node-cron ANDs them: an expression that
    // restricts both would mean different days to different schedulers.
    throw new CronError(expression, 'restrict the day of month or the day of week, not both');
  }
  const sixFields = !expression.trim().startsWith('@') && expression.trim().split(/\s+/).length === 6;
  const compiled: CompiledCron = {
    expression,
    granularityMs: sixFields ? 1000 : 60_000,
    seconds: [...new Set(f.second)].sort((a, b) => a - b),
    minutes: [...new Set(f.minute)].sort((a, b) => a - b),
    hours: [...new Set(f.hour)].sort((a, b) => a - b),
    daysOfMonth: anyDom ? null : dom,
    months: new Set(f.month),
    daysOfWeek: anyDow ? null : dow,
  };
  cache.set(expression, compiled);
  return compiled;
}

function dayMatches(c: CompiledCron, epochDay: number): boolean {
  const d = new Date(epochDay * DAY_MS);
  return (
    c.months.has(d.getUTCMonth() + 1) &&
    (c.daysOfMonth === null || c.daysOfMonth.has(d.getUTCDate())) &&
    (c.daysOfWeek === null || c.daysOfWeek.has(d.getUTCDay()))
  );
}

/** The latest second of the day ≤ bound (seconds since midnight) the cron names, or null. */
function latestOnDay(c: CompiledCron, bound: number): number | null {
  for (let i = c.hours.length - 1; i >= 0; i--) {
    const h = c.hours[i]! * 3600;
    if (h > bound) continue;
    for (let j = c.minutes.length - 1; j >= 0; j--) {
      const hm = h + c.minutes[j]! * 60;
      if (hm > bound) continue;
      for (let k = c.seconds.length - 1; k >= 0; k--) {
        if (hm + c.seconds[k]! <= bound) return hm + c.seconds[k]!;
      }
    }
  }
  return null;
}

/** The earliest second of the day > bound the cron names, or null. */
function earliestOnDay(c: CompiledCron, bound: number): number | null {
  for (const hour of c.hours) {
    const h = hour * 3600;
    if (h + 3599 <= bound) continue;
    for (const minute of c.minutes) {
      const hm = h + minute * 60;
      if (hm + 59 <= bound) continue;
      for (const second of c.seconds) {
        if (hm + second > bound) return hm + second;
      }
    }
  }
  return null;
}

const toMs = (t: Date | number) => (typeof t === 'number' ? t : t.getTime());

/** The latest occurrence at or before `t`. */
export function previousOccurrence(c: CompiledCron, t: Date | number): Date {
  const sec = Math.floor(toMs(t) / 1000);
  const day = Math.floor(sec / 86_400);
  for (let i = 0; i < MAX_DAYS; i++) {
    if (!dayMatches(c, day - i)) continue;
    const second = latestOnDay(c, i === 0 ? sec - day * 86_400 : 86_399);
    if (second !== null) return new Date(((day - i) * 86_400 + second) * 1000);
  }
  throw new CronError(c.expression, 'no occurrence in the last 40 years');
}

/** The earliest occurrence strictly after `t`. */
export function nextOccurrence(c: CompiledCron, t: Date | number): Date {
  const sec = Math.floor(toMs(t) / 1000);
  const day = Math.floor(sec / 86_400);
  for (let i = 0; i < MAX_DAYS; i++) {
    if (!dayMatches(c, day + i)) continue;
    const second = earliestOnDay(c, i === 0 ? sec - day * 86_400 : -1);
    if (second !== null) return new Date(((day + i) * 86_400 + second) * 1000);
  }
  throw new CronError(c.expression, 'no occurrence in the next 40 years');
}

/** Occurrences in (after, atOrBefore], oldest first; at most `limit` of the newest. */
export function occurrencesBetween(c: CompiledCron, after: number, atOrBefore: number, limit = 1000): Date[] {
  const out: Date[] = [];
  let t = atOrBefore;
  while (out.length < limit) {
    const o = previousOccurrence(c, t);
    if (o.getTime() <= after) break;
    out.push(o);
    t = o.getTime() - 1;
  }
  return out.reverse();
}

/**
 * How far the clocks of replicas may disagree with the database's (and with
 * true time): 30 s. See docs/jobs.md, "Clock skew".
 */
export const CLOCK_TOLERANCE_MS = 30_000;

export interface DueOccurrence {
  scheduledFor: Date;
  trigger: Exclude<JobTrigger, 'manual'>;
}

/**
 * The occurrences a replica should try to claim when its clock reads `now`,
 * having already tried everything up to `cursor` (undefined: it just started).
 *
 * - An occurrence is due once the replica's own clock has reached it, never
 *   before: no look-ahead, so a fast clock is early by its own skew at most
 *   (the database refuses anything more than 30 s ahead of its clock), and a
 *   tick is never attributed to the next occurrence.
 * - Occurrences that came due since the last look, up to 30 s ago, are each
 *   due: a replica that stalled briefly does not drop them.
 * - Anything older collapses into one catch-up run of the latest occurrence
 *   (start-up after downtime, or a stall over 30 s): once, not N times.
 */
export function dueOccurrences(
  c: CompiledCron,
  cursor: number | undefined,
  now: number,
  windowMs = CLOCK_TOLERANCE_MS,
): DueOccurrence[] {
  const latest = previousOccurrence(c, now);
  if (cursor !== undefined && latest.getTime() <= cursor) return [];
  const recentTrigger = (o: Date) => (now - o.getTime() <= windowMs ? 'schedule' : 'catch-up');
  if (cursor === undefined) return [{ scheduledFor: latest, trigger: recentTrigger(latest) }];
  const recent = occurrencesBetween(c, Math.max(cursor, now - windowMs - 1), now);
  if (recent.length > 0) return recent.map((scheduledFor) => ({ scheduledFor, trigger: 'schedule' }));
  return [{ scheduledFor: latest, trigger: 'catch-up' }];
}
