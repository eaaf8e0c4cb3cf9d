import { type Kysely, type Selectable, sql } from 'kysely';
import { jsonb } from '../db/params.js';
import type { Database } from '../db/schema.js';
import { isDatabaseUnavailable } from '../db/errors.js';
import { retrying } from '../db/retry.js';
import { inTransaction } from '../db/transaction.js';
import { errorFields, type Logger } from '../logger.js';
import type { JobOutcome, JobRunsTable, JobTrigger } from '../db/tables/jobs.js';
import type { JobCounts, JobDefinition, JobSettings } from './types.js';

/**
 * Claiming and running one occurrence of a job. Worker-safe: no Node-only
 * imports; the Node scheduler, the Workers Cron Trigger and the run-now route
 * all go through here.
 */
export type JobRun = Selectable<JobRunsTable>;
type Db = Kysely<Database>;

/** How far ahead of the database's clock a scheduled occurrence may be claimed. */
export const CLAIM_AHEAD_TOLERANCE_MS = 30_000;
export const DEFAULT_LEASE_MS = 60_000;
// Names "healthscore job claims" among advisory locks (two-int form; the second is the job).
const CLAIM_LOCK_NAMESPACE = 4_217_006;

export interface ClaimRequest {
  job: string;
  /** The occurrence; omitted for a manual run (the database's clock then names it). */
  scheduledFor?: Date;
  trigger: JobTrigger;
  /** hostname:pid of this process. */
  replica: string;
  leaseMs?: number;
  /**
   * When a run of the job is in progress: record this occurrence as skipped
   * (default for scheduled claims), or only report it (always for manual runs)
   * so that the caller can try again a moment later.
   */
  ifBusy?: 'skip' | 'report';
}

export type ClaimResult =
  /** This caller owns the run; it must run it and finish it. */
  | { status: 'claimed'; run: JobRun }
  /** Another replica (or an earlier tick) already has this occurrence. */
  | { status: 'taken' }
  /** A run of the job was still running: the occurrence is recorded as skipped (scheduled claims only). */
  | { status: 'skipped'; run: JobRun; running: JobRun }
  /** A run of the job is in progress: nothing recorded (manual runs, and `ifBusy: 'report'`). */
  | { status: 'busy'; running: JobRun }
  /** A catch-up whose job already has a later occurrence: not run, not recorded. */
  | { status: 'superseded' }
  /** The occurrence is more than 30 s ahead of the database's clock: this replica's clock is too fast. */
  | { status: 'too-early'; databaseNow: Date };

/**
 * Claims an occurrence in one transaction: the unique (job_name,
 * scheduled_for) key decides who runs it; under a per-job advisory lock, runs
 * whose lease expired are marked failed and a run still in progress turns
 * this occurrence into a skipped one. Inside a caller's transaction (an
 * Idempotency-Key request) it joins that transaction.
 */
export async function claimRun(db: Db, request: ClaimRequest): Promise<ClaimResult> {
  const leaseMs = request.leaseMs ?? DEFAULT_LEASE_MS;
  return inTransaction(db, async (trx) => {
    await sql`select pg_advisory_xact_lock(${CLAIM_LOCK_NAMESPACE}, hashtext(${request.job}))`.execute(trx);
    const { rows } = await sql<{ now: Date }>`select clock_timestamp() as now`.execute(trx);
    const now = rows[0]!.now;
    // A manual run is named by the database's clock, moved off a whole second
    // if need be: occurrences fall on whole seconds, so it can never take one's key.
    const scheduledFor = request.scheduledFor ?? new Date(now.getTime() + (now.getTime() % 1000 === 0 ? 1 : 0));

    if (request.trigger !== 'manual') {
      if (scheduledFor.getTime() > now.getTime() + CLAIM_AHEAD_TOLERANCE_MS) return { status: 'too-early', databaseNow: now };
      const existing = await trx
        .selectFrom('job_runs')
        .select('id')
        .where('job_name', '=', request.job)
        .where('scheduled_for', '=', scheduledFor)
        .executeTakeFirst();
      if (existing) return { status: 'taken' };
      if (request.trigger === 'catch-up') {
        const later = await trx
          .selectFrom('job_runs')
          .select('id')
          .where('job_name', '=', request.job)
          .where('scheduled_for', '>', scheduledFor)
          .where('triggered_by', '<>', 'manual')
          .limit(1)
          .executeTakeFirst();
        if (later) return { status: 'superseded' };
      }
    }

    await reapExpiredRuns(trx, request.job);
    const running = await trx
      .selectFrom('job_runs')
      .selectAll()
      .where('job_name', '=', request.job)
      .where('outcome', '=', 'running')
      .executeTakeFirst();

    const base = {
      job_name: request.job,
      scheduled_for: scheduledFor,
      triggered_by: request.trigger,
      replica: request.replica,
      started_at: now,
    };
    if (running) {
      if (request.trigger === 'manual' || request.ifBusy === 'report') return { status: 'busy', running };
      const skipped = await trx
        .insertInto('job_runs')
        .values({
          ...base,
          outcome: 'skipped',
          finished_at: now,
          error: `run ${running.id} of this job (for ${running.scheduled_for.toISOString()}, on ${running.replica}) was still running`,
        })
        .onConflict((oc) => oc.constraint('job_runs_occurrence_key').doNothing())
        .returningAll()
        .executeTakeFirst();
      return skipped ? { status: 'skipped', run: skipped, running } : { status: 'taken' };
    }
    const run = await trx
      .insertInto('job_runs')
      .values({ ...base, outcome: 'running', lease_expires_at: new Date(now.getTime() + leaseMs) })
      .onConflict((oc) => oc.constraint('job_runs_occurrence_key').doNothing())
      .returningAll()
      .executeTakeFirst();
    return run ? { status: 'claimed', run } : { status: 'taken' };
  });
}

/** Marks running runs whose lease has expired (their process died) as failed; returns how many. */
export async function reapExpiredRuns(db: Db, job?: string): Promise<number> {
  let query = db
    .updateTable('job_runs')
    .set({
      outcome: 'failed',
      finished_at: sql<Date>`clock_timestamp()`,
      lease_expires_at: null,
      error: sql<string>`'lease expired at ' || to_char(lease_expires_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') || ': ' || replica || ' stopped renewing it (process died or lost the database)'`,
    })
    .where('outcome', '=', 'running')
    .where('lease_expires_at', '<', sql<Date>`clock_timestamp()`);
  if (job) query = query.where('job_name', '=', job);
  const result = await query.executeTakeFirst();
  return Number(result.numUpdatedRows);
}

export interface RunOptions {
  logger: Logger;
  settings: JobSettings;
  leaseMs?: number;
  /** Shutdown: the handler is told to stop, and a run it cut short is handed back. */
  signal?: AbortSignal;
}

/**
 * Runs a claimed occurrence and records how it ended. While the handler works
 * the lease is renewed every quarter lease, so a live run is never taken for
 * dead. Never throws for the handler's errors: they are recorded on the row.
 */
export async function executeRun(db: Db, job: JobDefinition, run: JobRun, options: RunOptions): Promise<JobRun> {
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  const logger = options.logger;
  const fields = { job: job.name, runId: run.id, scheduledFor: run.scheduled_for.toISOString() };
  // In a caller's transaction nobody else sees the row before it commits, so there is no lease to keep.
  const renew = db.isTransaction
    ? undefined
    : setInterval(() => {
        renewLease(db, run.id, leaseMs).then(
          (alive) => alive || logger.warn('job run lost its lease', fields),
          (err) => logger.warn('job lease renewal failed', { ...fields, ...errorFields(err) }),
        );
      }, Math.max(50, Math.floor(leaseMs / 4)));
  let outcome: JobOutcome = 'succeeded';
  let counts: JobCounts = {};
  let error: string | null = null;
  try {
    counts = normaliseCounts(
      await guarded(db, () => job.handler({ db, logger, scheduledFor: run.scheduled_for, settings: options.settings, signal: options.signal })),
    );
  } catch (err) {
    outcome = 'failed';
    error = sanitiseError(err);
    logger.error('job run failed', { ...fields, error });
  } finally {
    if (renew) clearInterval(renew);
  }
  if (options.signal?.aborted && !db.isTransaction) {
    // Cut short by shutdown: hand the occurrence back so the next process runs it at once.
    await handBackRuns(db, { ids: [run.id] });
    logger.info('job run handed back at shutdown', { ...fields, counts });
    return run;
  }
  // Recorded even across a database restart (for about 10 s), so the job is not held until its lease lapses.
  const finished = await retrying(
    () =>
      db
        .updateTable('job_runs')
        .set({ outcome, finished_at: sql<Date>`clock_timestamp()`, lease_expires_at: null, counts: jsonb(counts), error })
        .where('id', '=', run.id)
        .where('outcome', '=', 'running')
        .returningAll()
        .executeTakeFirst(),
    { attempts: db.isTransaction ? 1 : 12, when: isDatabaseUnavailable, baseDelayMs: 250 },
  );
  if (!finished) {
    // Reaped meanwhile (the lease lapsed): the row keeps the reaper's verdict.
    logger.warn('job run finished after its lease was taken for dead', { ...fields, outcome });
    return (await db.selectFrom('job_runs').selectAll().where('id', '=', run.id).executeTakeFirstOrThrow());
  }
  logger.info('job run finished', { ...fields, outcome, counts, ms: finished.finished_at!.getTime() - finished.started_at.getTime() });
  return finished;
}

/**
 * Hands back runs still marked running (by id, or every one of a replica):
 * the row goes, so the occurrence can be claimed again at once, by the next
 * process to start or by another replica, instead of waiting for the lease to
 * lapse or the next occurrence. Returns how many.
 */
export async function handBackRuns(db: Db, which: { ids?: number[]; replica?: string }): Promise<number> {
  if (!which.ids?.length && !which.replica) return 0;
  let query = db.deleteFrom('job_runs').where('outcome', '=', 'running');
  if (which.ids?.length) query = query.where('id', 'in', which.ids);
  if (which.replica) query = query.where('replica', '=', which.replica);
  const result = await query.executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** In a caller's transaction a failing handler must not poison it: a savepoint keeps it usable. */
async function guarded<T>(db: Db, fn: () => Promise<T>): Promise<T> {
  if (!db.isTransaction) return fn();
  await sql`savepoint job_run`.execute(db);
  try {
    const result = await fn();
    await sql`release savepoint job_run`.execute(db);
    return result;
  } catch (err) {
    await sql`rollback to savepoint job_run`.execute(db);
    throw err;
  }
}

async function renewLease(db: Db, id: number, leaseMs: number): Promise<boolean> {
  const result = await db
    .updateTable('job_runs')
    .set({ lease_expires_at: sql<Date>`clock_timestamp() + make_interval(secs => ${leaseMs / 1000})` })
    .where('id', '=', id)
    .where('outcome', '=', 'running')
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

function normaliseCounts(value: unknown): JobCounts {
  if (typeof value !== 'object' || value === null) return {};
  const out: JobCounts = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v === 'number' && Number.isFinite(v)) out[k.slice(0, 100)] = v;
  }
  return out;
}

const SECRET_PATTERNS: [RegExp, string][] = [
  // credentials in URLs: postgres://user:password@host
  [/(\b[a-z][a-z0-9+.-]*:\/\/)[^\s/@:]*:[^\s/@]*@/gi, '$1***@'],
  [/\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+/gi, '$1 ***'],
  [/\bhs_[A-Za-z0-9_-]{8,}/g, 'hs_***'],
  [/\bwhsec_[A-Za-z0-9+/=_-]+/g, 'whsec_***'],
  [/\b(password|passwd|pwd|secret|token|api[_-]?key)(\s*[=:]\s*)("[^"]*"|'[^']*'|[^\s,;]+)/gi, '$1$2***'],
];

/** One line for the error column: the message only (no stack), secrets masked, bounded. */
export function sanitiseError(err: unknown): string {
  const raw =
    err instanceof Error ? `${err.name === 'Error' ? '' : `${err.name}: `}${err.message}` : `non-error thrown: ${String(err)}`;
  // The first line only: later lines of a message are often a stack or a dump of the input.
  const lines = raw.split(/\r?\n/).filter((line) => line.trim() !== '');
  let text = (lines[0] ?? '').replace(/\s+/g, ' ').trim() || 'unknown error';
  if (lines.length > 1) text += ` (+${lines.length - 1} more line${lines.length > 2 ? 's' : ''})`;
  for (const [pattern, replacement] of SECRET_PATTERNS) text = text.replace(pattern, replacement);
  return text.length > 1000 ? `${text.slice(0, 999)}…` : text;
}

export interface RunJobRequest extends Omit<ClaimRequest, 'job'>, RunOptions {}

/** Claims an occurrence and, when this caller got it, runs it. */
export async function runOccurrence(
  db: Db,
  job: JobDefinition,
  request: RunJobRequest,
): Promise<ClaimResult | { status: 'ran'; run: JobRun }> {
  const claim = await claimRun(db, { ...request, job: job.name });
  if (claim.status !== 'claimed') return claim;
  return { status: 'ran', run: await executeRun(db, job, claim.run, request) };
}
