import { hostname } from 'node:os';
import type { Kysely } from 'kysely';
import { Cron } from 'croner';
import { databaseBack } from '../db/breaker.js';
import { isDatabaseUnavailable } from '../db/errors.js';
import type { Database } from '../db/schema.js';
import { errorFields, type Logger } from '../logger.js';
import { CLOCK_TOLERANCE_MS, type CompiledCron, compileCron, dueOccurrences } from './cron.js';
import { DEFAULT_LEASE_MS, handBackRuns, reapExpiredRuns, runOccurrence } from './runner.js';
import { JOB_NAME_PATTERN, type JobDefinition, type JobSettings } from './types.js';

export interface SchedulerOptions {
  db: Kysely<Database>;
  logger: Logger;
  jobs: readonly JobDefinition[];
  settings: JobSettings;
  /** Added to Date.now(): a test/diagnostic knob that simulates a skewed clock (JOBS_CLOCK_SKEW_MS). */
  clockSkewMs?: number;
  /** The replica's clock, in ms; tests drive fake ones. Default Date.now() + clockSkewMs. */
  now?: () => number;
  /** Who claims: hostname:pid by default. */
  replica?: string;
  leaseMs?: number;
  /** How old an occurrence may be and still be run on its own rather than collapse into a catch-up. */
  windowMs?: number;
}

export const defaultReplica = () => `${hostname()}:${process.pid}`;

/**
 * How long an occurrence may wait for a run of its job still in progress
 * (usually another replica's run of the previous occurrence) before it is
 * recorded as skipped. Jobs never overlap either way.
 */
export const OVERLAP_GRACE_MS = 10_000;

/** Checks a job list: names well-formed and unique, cron expressions ones the scheduler can evaluate. */
export function checkJobs(jobs: readonly JobDefinition[]): Map<string, CompiledCron> {
  const compiled = new Map<string, CompiledCron>();
  for (const job of jobs) {
    if (!JOB_NAME_PATTERN.test(job.name)) throw new Error(`job name '${job.name}' must match ${JOB_NAME_PATTERN}`);
    if (compiled.has(job.name)) throw new Error(`job '${job.name}' is listed twice`);
    compiled.set(job.name, compileCron(job.cron));
  }
  return compiled;
}

/**
 * The Node scheduler: a croner task ticks every second; on each tick, and at
 * start-up, every job's due occurrences (src/jobs/cron.ts, dueOccurrences)
 * are claimed in PostgreSQL and, when this replica wins one, run. A replica
 * works through one job's occurrences one at a time; different jobs run side
 * by side. Which replica runs what is decided by the database alone.
 */
export class JobScheduler {
  private readonly compiled: Map<string, CompiledCron>;
  private readonly cursors = new Map<string, number>();
  private readonly pumps = new Map<string, Promise<void>>();
  private readonly warnedEarly = new Set<string>();
  private readonly now: () => number;
  private readonly replica: string;
  private task: Cron | undefined;
  private stopped = false;
  private lastReap = -Infinity;
  /** Set while the database is away: ticks do nothing until it is back (src/db/breaker.ts). */
  private waitingForDatabase: Promise<void> | undefined;
  /** Aborted by stop(): running handlers wind down and hand their occurrences back. */
  private readonly shutdown = new AbortController();

  constructor(private readonly options: SchedulerOptions) {
    this.compiled = checkJobs(options.jobs);
    const skew = options.clockSkewMs ?? 0;
    this.now = options.now ?? (() => Date.now() + skew);
    this.replica = options.replica ?? defaultReplica();
  }

  /** Ticks every second until stop(); the first look (start-up catch-up) is immediate. */
  start(): this {
    // A late tick is harmless: the next look covers what came due meanwhile.
    this.task = new Cron('* * * * * *', { timezone: 'UTC' }, () => {
      void this.tick();
    });
    void this.tick();
    return this;
  }

  /**
   * One look at the clock. Starts a pump for every job that has none running
   * (a running pump re-checks the clock itself when it is done); resolves
   * when all of them have settled.
   */
  async tick(): Promise<void> {
    if (this.stopped || this.waitingForDatabase) return;
    if (performance.now() - this.lastReap > 60_000) {
      this.lastReap = performance.now();
      await reapExpiredRuns(this.options.db).catch((err) =>
        isDatabaseUnavailable(err) ? this.waitForDatabase(err) : this.options.logger.warn('reaping expired job runs failed', errorFields(err)),
      );
      if (this.waitingForDatabase) return;
    }
    await Promise.all(this.options.jobs.map((job) => this.pumps.get(job.name) ?? this.startPump(job)));
  }

  /**
   * Stops ticking, tells running handlers to stop (JobContext.signal) and
   * waits up to timeoutMs for them; runs they cut short, and any still going
   * after that, are handed back so the next process takes their occurrences
   * over at once.
   */
  async stop(timeoutMs = 1_500): Promise<void> {
    this.stopped = true;
    this.shutdown.abort();
    this.task?.stop();
    this.task = undefined;
    const pending = [...this.pumps.values()];
    if (pending.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      Promise.allSettled(pending).then(() => false),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), timeoutMs))),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      const handedBack = await handBackRuns(this.options.db, { replica: this.replica }).catch(() => 0);
      this.options.logger.info('job runs still in progress at shutdown were handed back', { jobs: [...this.pumps.keys()], handedBack });
    }
  }

  /** Said once per outage; the ticks then wait for the database instead of failing every second. */
  private waitForDatabase(err: unknown): void {
    if (this.waitingForDatabase || this.stopped) return;
    this.options.logger.warn('jobs wait for the database', { error: err instanceof Error ? err.message : String(err) });
    this.waitingForDatabase = databaseBack(this.options.db, this.shutdown.signal).then(() => {
      this.waitingForDatabase = undefined;
      if (!this.stopped) this.options.logger.info('jobs resume: the database is back');
    });
  }

  private startPump(job: JobDefinition): Promise<void> {
    const pump = this.pump(job).finally(() => this.pumps.delete(job.name));
    this.pumps.set(job.name, pump);
    return pump;
  }

  private async pump(job: JobDefinition): Promise<void> {
    const { db, logger, settings } = this.options;
    const compiled = this.compiled.get(job.name)!;
    let quickRetries = 0;
    while (!this.stopped) {
      const due = dueOccurrences(compiled, this.cursors.get(job.name), this.now(), this.options.windowMs ?? CLOCK_TOLERANCE_MS);
      if (due.length === 0) return;
      for (const { scheduledFor, trigger } of due) {
        if (this.stopped) return;
        const fields = { job: job.name, scheduledFor: scheduledFor.toISOString(), trigger };
        // Another replica running the job: a fresh occurrence waits for it (retried shortly
        // and on the next ticks); one that has waited OVERLAP_GRACE_MS is recorded skipped.
        const fresh = this.now() - scheduledFor.getTime() < OVERLAP_GRACE_MS;
        let result;
        try {
          result = await runOccurrence(db, job, {
            scheduledFor,
            trigger,
            ifBusy: fresh ? 'report' : 'skip',
            replica: this.replica,
            leaseMs: this.options.leaseMs ?? DEFAULT_LEASE_MS,
            logger,
            settings,
            signal: this.shutdown.signal,
          });
        } catch (err) {
          // Not marked as looked at: the next tick tries again while it is recent.
          if (isDatabaseUnavailable(err)) this.waitForDatabase(err);
          else logger.error('job claim failed', { ...fields, ...errorFields(err) });
          return;
        }
        if (result.status === 'too-early') {
          // Retried every tick until the database's clock is within 30 s of it.
          const key = `${job.name}@${fields.scheduledFor}`;
          if (!this.warnedEarly.has(key)) {
            this.warnedEarly.add(key);
            if (this.warnedEarly.size > 1000) this.warnedEarly.clear();
            logger.warn('clock ahead of the database by more than 30 s: not claiming yet', {
              ...fields,
              databaseNow: result.databaseNow.toISOString(),
              localNow: new Date(this.now()).toISOString(),
            });
          }
          return;
        }
        if (result.status === 'busy') {
          logger.debug('job busy elsewhere; occurrence waits', { ...fields, runningRunId: result.running.id });
          if (quickRetries++ >= 1) return; // the next tick tries again
          // Ticks of all replicas fall on the same instant: retry a little apart from them.
          await new Promise((r) => setTimeout(r, 50 + Math.random() * 200));
          break;
        }
        this.cursors.set(job.name, scheduledFor.getTime());
        if (result.status === 'skipped') logger.warn('job occurrence skipped', { ...fields, reason: result.run.error });
        else if (result.status !== 'ran') logger.debug('job occurrence not run here', { ...fields, status: result.status });
      }
    }
  }
}
