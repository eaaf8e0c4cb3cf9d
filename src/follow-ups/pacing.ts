import { addWorkingTime, DAY, fromLocalMs, localDayNumber, localTimeOfDay, MINUTE, snapToWorkingTime, type WorkCalendar } from './working-time.js';

/**
 * Follow-ups whose deadline has already passed when they are planned (a first
 * planning run over old data, an import of last quarter's surveys) would all
 * be due at the planning instant. Instead each assignee gets them at a steady
 * pace through their working time: their daily capacity spread evenly over
 * their working day (8 a day over 09:00–17:00 is one an hour), in the order
 * they are offered (the planner offers the longest overdue first), never more
 * than the capacity on one day. Pure and deterministic; one pacer lives for
 * one planning run.
 */
export class DuePacer {
  private readonly next = new Map<string, Date>();

  /** The due time of one more already-due follow-up of this assignee, not before `earliest`. */
  slot(assignee: string, earliest: Date, calendar: WorkCalendar, dailyCapacity: number): Date {
    const start = snapToWorkingTime(earliest, calendar);
    const cursor = this.next.get(assignee);
    const due = cursor && cursor > start ? cursor : start;
    this.next.set(assignee, nextSlot(due, calendar, dailyCapacity));
    return due;
  }
}

/** One pace step later; a step ending exactly at the end of the working day starts the next one instead. */
function nextSlot(due: Date, calendar: WorkCalendar, dailyCapacity: number): Date {
  const dayMs = (calendar.endMinute - calendar.startMinute) * MINUTE;
  // Whole milliseconds, rounded up: `capacity` steps never fit in a day with room for one more.
  const stepMs = Math.ceil(dayMs / Math.max(1, dailyCapacity));
  const next = addWorkingTime(due, { businessDays: stepMs / dayMs }, calendar);
  if (localTimeOfDay(calendar.timeZone, next.getTime()) < calendar.endMinute * MINUTE) return next;
  const tomorrow = localDayNumber(calendar.timeZone, next.getTime()) + 1;
  return snapToWorkingTime(new Date(fromLocalMs(calendar.timeZone, tomorrow * DAY)), calendar);
}
