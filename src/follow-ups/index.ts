/**
 * Follow-up visits and calls: what other features and the job registry use.
 * See docs/follow-ups.md.
 *
 * Jobs: `planFollowUps(db)` (the playbooks), `markDueFollowUps(db)`
 * (follow_up.due) and `escalateOverdue(db)` (follow_up.overdue, missed).
 * Each returns counts and is safe to run again or concurrently.
 */
export { planFollowUps, type PlanCounts, type PlanOptions } from './planner.js';
export { escalateOverdue, type EscalateCounts, type EscalateOptions, markDueFollowUps, type DueCounts, type SweepOptions } from './sweeps.js';
export { registerFollowUpRoutes } from './routes.js';
export { addWorkingTime, type WorkCalendar, type WorkingDuration } from './working-time.js';
