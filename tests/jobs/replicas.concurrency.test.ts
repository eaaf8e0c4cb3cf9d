import { afterAll, describe, expect, it } from 'vitest';
import { registry } from '../../src/compose/jobs.js';
import { createTestDatabase, onServer, type TestDatabase } from '../support/db.js';
import { freePort, type Spawned, spawnTs, waitFor } from '../support/process.js';

/**
 * Three real service processes on one PostgreSQL database, scheduling the
 * test-only every-second `heartbeat` job (JOBS_EXTRA): one with a correct
 * clock, one whose clock is 8 s fast and one 3 s slow (JOBS_CLOCK_SKEW_MS).
 * Every occurrence from the first to the last must have exactly one run row,
 * and the handler must have run once for each run that succeeded (counted
 * from the processes' own log lines, not from the rows).
 */
const OBSERVE_MS = 13_000;

let t: TestDatabase | undefined;
const procs: Spawned[] = [];
afterAll(async () => {
  for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
  await t?.close();
});

describe.runIf(onServer())('three replicas, one of them with a fast clock and one with a slow clock', () => {
  it('run an every-second job exactly once per occurrence, with no gap', async () => {
    t = await createTestDatabase();
    const db = t.db;
    const start = async (skewMs: number) => {
      const port = await freePort();
      const proc = spawnTs('src/node.ts', [], {
        DATABASE_URL: t!.url,
        PORT: String(port),
        HOST: '127.0.0.1',
        LOG_LEVEL: 'info',
        JOBS_EXTRA: 'heartbeat',
        JOBS_CLOCK_SKEW_MS: String(skewMs),
      });
      procs.push(proc);
      await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).ok, 60_000, `replica with skew ${skewMs} ms`);
      return proc;
    };
    const heartbeats = () => db.selectFrom('job_runs').select('id').where('job_name', '=', 'heartbeat').execute();

    // The correct clock first, so the fast one cannot start ahead of anyone and leave
    // the seconds before its first occurrence to nobody.
    const exact = await start(0);
    await waitFor(async () => (await heartbeats()).length > 0, 30_000, 'a first heartbeat');
    const [fast, slow] = await Promise.all([start(8_000), start(-3_000)]);
    await new Promise((r) => setTimeout(r, OBSERVE_MS));
    for (const p of [exact, fast, slow]) p.child.kill('SIGTERM');
    const codes = await Promise.all([exact, fast, slow].map((p) => p.exited));
    expect(codes, [exact, fast, slow].map((p) => p.output().slice(-2000)).join('\n---\n')).toEqual([0, 0, 0]);

    const rows = await db
      .selectFrom('job_runs')
      .select(['scheduled_for', 'outcome', 'replica', 'started_at', 'error', 'triggered_by'])
      .where('job_name', '=', 'heartbeat')
      .orderBy('scheduled_for')
      .execute();
    const times = rows.map((r) => r.scheduled_for.getTime());

    // Exactly one row per occurrence, every second from the first to the last.
    expect(new Set(times).size).toBe(times.length);
    expect(times.every((ms) => ms % 1000 === 0)).toBe(true);
    const gaps = times.slice(1).flatMap((ms, i) => (ms - times[i]! === 1000 ? [] : [`${new Date(times[i]!).toISOString()} → ${new Date(ms).toISOString()}`]));
    expect(gaps).toEqual([]);
    expect(times.at(-1)! - times[0]!).toBeGreaterThanOrEqual(OBSERVE_MS);

    // The handler ran exactly once for each of them, counted from the processes' logs.
    const executions = new Map<number, number>();
    for (const p of [exact, fast, slow]) {
      for (const line of p.output().split('\n')) {
        if (!line.startsWith('{')) continue;
        const entry = JSON.parse(line) as { msg?: string; scheduledFor?: string };
        if (entry.msg === 'heartbeat') {
          const at = Date.parse(entry.scheduledFor!);
          executions.set(at, (executions.get(at) ?? 0) + 1);
        }
      }
    }
    expect([...executions.values()].filter((n) => n !== 1)).toEqual([]);
    const succeeded = rows.filter((r) => r.outcome === 'succeeded').map((r) => r.scheduled_for.getTime());
    expect([...executions.keys()].sort((a, b) => a - b)).toEqual(succeeded);

    // Nothing failed, nothing was skipped: an occurrence whose turn comes while another
    // replica still runs an adjacent one waits for it rather than overlapping it.
    expect(rows.filter((r) => r.outcome !== 'succeeded')).toEqual([]);

    // The fast replica took part, claiming occurrences seconds before they were due in true time.
    const fastReplica = `:${fast.child.pid}`;
    const fastRows = rows.filter((r) => r.replica.endsWith(fastReplica));
    expect(fastRows.length).toBeGreaterThan(0);
    expect(Math.max(...fastRows.map((r) => r.scheduled_for.getTime() - r.started_at.getTime()))).toBeGreaterThan(5_000);

    // And the registry's jobs, due at start-up, were caught up once, not once per replica.
    for (const job of registry) {
      const runs = await db.selectFrom('job_runs').select(['scheduled_for', 'outcome']).where('job_name', '=', job.name).execute();
      expect(new Set(runs.map((r) => r.scheduled_for.getTime())).size, job.name).toBe(runs.length);
      // rescore-dirty works for most of its minute, so the test's shutdown cuts its run short and
      // hands the occurrence back (its row goes, for the next process to run it at once).
      if (job.name === 'rescore-dirty') continue;
      expect(runs.length, job.name).toBeGreaterThanOrEqual(1);
      // An occurrence found a run of its job in progress (the start-up planning, say) is skipped: that run covers it.
      expect(runs.filter((r) => r.outcome !== 'succeeded' && r.outcome !== 'skipped'), job.name).toEqual([]);
      expect(runs.some((r) => r.outcome === 'succeeded'), job.name).toBe(true);
    }
  }, 120_000);
});
