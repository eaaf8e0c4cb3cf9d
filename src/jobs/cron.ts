import { Cron, CronPattern } from 'croner';
import type { JobTrigger } from '../db/tables/jobs.js';

/**
 * Cron expressions of the job scheduler (five fields, or six with seconds,
 * and @nicknames), evaluated in UTC by croner, which runs on Node and
 * Workers alike.
 */
export interface CompiledCron {
  expression: string;
  /** 1000 when the expression has a seconds field, else 60 000: occurrences fall on these. */
  granularityMs: number;
  cron: Cron;
}

export class CronError extends Error {
  constructor(expression: string, reason: string) {
    super(`cron expression '${expression}': ${reason}`);
    this.name = 'CronError';
  }
}

const cache = new Map<string, CompiledCron>();
/** A weekday matched on every occurrence in the month (croner marks nth-weekday and last-weekday rules with other bits). */
const EVERY_WEEKDAY_OCCURRENCE = 0b111111;

export function compileCron(expression: string): CompiledCron {
  const hit = cache.get(expression);
  if (hit) return hit;
  const trimmed = expression.trim();
  const fields = trimmed.split(/\s+/).length;
  if (!trimmed.startsWith('@') && fields !== 5 && fields !== 6) throw new CronError(expression, 'expected 5 or 6 fields');
  let pattern: CronPattern;
  let cron: Cron;
  try {
    pattern = new CronPattern(trimmed, 'UTC', { mode: '5-or-6-parts' });
    // AND of the two day fields: only one of them may be restricted (below), so this is what Vixie cron does too.
    cron = new Cron(trimmed, { timezone: 'UTC', paused: true, mode: '5-or-6-parts', domAndDow: true });
  } catch (err) {
    throw new CronError(expression, err instanceof Error ? err.message : String(err));
  }
  if (pattern.lastDayOfMonth || pattern.lastWeekday || pattern.nearestWeekdays.some(Boolean) || pattern.dayOfWeek.some((v) => v !== 0 && v !== EVERY_WEEKDAY_OCCURRENCE)) {
    throw new CronError(expression, 'L, W and # are not supported by the job scheduler');
  }
  const anyDom = pattern.day.every(Boolean);
  const anyDow = pattern.dayOfWeek.every(Boolean);
  if (!anyDom && !anyDow) {
    // Vixie cron ORs the two fields, other schedulers AND them: an expression
    // that restricts both would mean different days to different schedulers.
    throw new CronError(expression, 'restrict the day of month or the day of week, not both');
  }
  const compiled: CompiledCron = { expression, granularityMs: !trimmed.startsWith('@') && fields === 6 ? 1000 : 60_000, cron };
  cache.set(expression, compiled);
  return compiled;
}

const toMs = (t: Date | number) => (typeof t === 'number' ? t : t.getTime());

/** The latest occurrence at or before `t`. */
export function previousOccurrence(c: CompiledCron, t: Date | number): Date {
  // previousRuns finds runs strictly before its reference.
  const previous = c.cron.previousRuns(1, new Date(toMs(t) + 1))[0];
  if (!previous) throw new CronError(c.expression, 'no earlier occurrence');
  return previous;
}

/** The earliest occurrence strictly after `t`. */
export function nextOccurrence(c: CompiledCron, t: Date | number): Date {
  const next = c.cron.nextRun(new Date(toMs(t)));
  if (!next) throw new CronError(c.expression, 'no later occurrence');
  return next;
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
