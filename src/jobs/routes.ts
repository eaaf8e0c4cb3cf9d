import { z } from 'zod';
import { encodeCursor, feedCursorSchema } from '../http/cursor.js';
import { DomainError, notFound } from '../lib/errors.js';
import type { Router } from '../http/route.js';
import { jobSettings, replicaName } from './environment.js';
import { lastRuns, listRuns } from './repository.js';
import { claimRun, executeRun, type JobRun } from './runner.js';
import { JOB_NAME_PATTERN, type JobDefinition } from './types.js';

const OUTCOMES = ['running', 'succeeded', 'failed', 'skipped'] as const;
const TRIGGERS = ['schedule', 'catch-up', 'manual'] as const;

const runSchema = z
  .object({
    id: z.number().int(),
    job: z.string(),
    scheduledFor: z.iso.datetime().meta({ description: 'The occurrence the cron expression names (UTC); for a manual run, when it was requested' }),
    trigger: z.enum(TRIGGERS).meta({ description: '`schedule`: on time; `catch-up`: the one run for occurrences missed while no replica was up; `manual`: POST /v1/jobs/{name}/run' }),
    outcome: z.enum(OUTCOMES),
    replica: z.string().meta({ description: 'hostname:pid of the process that claimed it' }),
    startedAt: z.iso.datetime(),
    finishedAt: z.iso.datetime().nullable(),
    counts: z.record(z.string(), z.number()).meta({ description: 'What the run did, e.g. `{"deleted": 120}`' }),
    error: z.string().nullable().meta({ description: 'Why it failed or was skipped (sanitised, no stack)' }),
  })
  .meta({ id: 'JobRun' });

const jobSchema = z
  .object({
    name: z.string(),
    cron: z.string().meta({ description: 'Cron expression, UTC' }),
    description: z.string(),
    lastRun: runSchema.nullable(),
  })
  .meta({ id: 'Job' });

/** Run listings page by id, newest first: the shared cursor (src/http/cursor.ts) with the id as its position. */
const encodeRunCursor = (id: number) => encodeCursor({ seq: 0, id });

const runCursorSchema = feedCursorSchema.transform((position, ctx) => {
  if (position.seq !== 0 || position.id < 1) {
    ctx.addIssue({ code: 'custom', message: 'not a cursor this API issued; start again without one' });
    return z.NEVER;
  }
  return position.id;
});

const runsQuerySchema = z.object({
  job: z.string().regex(JOB_NAME_PATTERN, 'must be a job name').optional(),
  outcome: z.enum(OUTCOMES).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: runCursorSchema.optional(),
});

export const runToJson = (run: JobRun): z.infer<typeof runSchema> => ({
  id: run.id,
  job: run.job_name,
  scheduledFor: run.scheduled_for.toISOString(),
  trigger: run.triggered_by,
  outcome: run.outcome,
  replica: run.replica,
  startedAt: run.started_at.toISOString(),
  finishedAt: run.finished_at?.toISOString() ?? null,
  counts: run.counts,
  error: run.error,
});

/** The job routes over `jobs`: the registry, handed over by the composition root (src/app.ts); tests pass their own. */
export function registerJobRoutes(router: Router, jobs: readonly JobDefinition[]) {
  const tags = ['jobs'];

  router.route(
    {
      method: 'get',
      path: '/v1/jobs',
      scope: 'read',
      operationId: 'listJobs',
      summary: 'List the scheduled jobs with their last run',
      tags,
      responses: { 200: { description: 'The job registry', schema: z.object({ items: z.array(jobSchema) }) } },
    },
    async (c) => {
      const last = await lastRuns(c.var.db, jobs.map((j) => j.name));
      return c.json({
        items: jobs.map((job) => {
          const run = last.get(job.name);
          return { name: job.name, cron: job.cron, description: job.description, lastRun: run ? runToJson(run) : null };
        }),
      });
    },
  );

  router.route(
    {
      method: 'get',
      path: '/v1/jobs/runs',
      scope: 'read',
      operationId: 'listJobRuns',
      summary: 'Run history, newest first',
      description: 'Keyset pagination: pass `nextCursor` as `cursor` for the next (older) page.',
      tags,
      request: { query: runsQuerySchema },
      responses: {
        200: {
          description: 'A page of runs',
          schema: z.object({ items: z.array(runSchema), nextCursor: z.string().nullable(), hasMore: z.boolean() }),
        },
      },
    },
    async (c, { query }) => {
      const page = await listRuns(c.var.db, { job: query.job, outcome: query.outcome, beforeId: query.cursor, limit: query.limit });
      const last = page.runs.at(-1);
      return c.json({
        items: page.runs.map(runToJson),
        nextCursor: page.hasMore && last ? encodeRunCursor(last.id) : null,
        hasMore: page.hasMore,
      });
    },
  );

  router.route(
    {
      method: 'post',
      path: '/v1/jobs/{name}/run',
      scope: 'admin',
      operationId: 'runJob',
      summary: 'Run a job now',
      description:
        'Runs the job at once, in this request, as a `manual` run recorded in the history like any other; responds when it has finished, with `outcome` `succeeded` or `failed`. 409 while a run of the job is in progress (scheduled or manual, on any replica).',
      tags,
      request: { params: z.object({ name: z.string().min(1).max(200) }) },
      responses: {
        200: { description: 'The finished run', schema: runSchema },
        404: { description: 'No job of that name' },
        409: { description: 'A run of this job is in progress' },
      },
    },
    async (c, { params }) => {
      const job = jobs.find((j) => j.name === params.name);
      if (!job) throw notFound(`job ${params.name}`);
      const claim = await claimRun(c.var.db, { job: job.name, trigger: 'manual', replica: replicaName() });
      if (claim.status === 'busy') {
        throw new DomainError('conflict', `run ${claim.running.id} of ${job.name} is in progress; try again when it has finished`, {
          runningRunId: claim.running.id,
        });
      }
      if (claim.status !== 'claimed') throw new DomainError('conflict', `${job.name} could not be started now; try again`);
      const run = await executeRun(c.var.db, job, claim.run, { logger: c.var.logger, settings: jobSettings(c.env) });
      return c.json(runToJson(run), 200);
    },
  );
}
