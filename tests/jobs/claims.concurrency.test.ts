import { Cron } from 'croner';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimRun, executeRun, reapExpiredRuns, runOccurrence } from '../../src/jobs/runner.js';
import { JobScheduler, OVERLAP_GRACE_MS } from '../../src/jobs/scheduler.js';
import type { JobDefinition } from '../../src/jobs/types.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { waitFor } from '../support/process.js';
import { gate, pastMinute, type Recorded, recordingJob, runsOf, settings, silent } from './support.js';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(() => t.close());

const base = { logger: silent, settings };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Resolves after the next `n` occurrences of a cron pattern (croner, as the scheduler uses) have fired. */
const occurrencesPass = (pattern: string, n: number) =>
  new Promise<void>((resolve) => {
    let seen = 0;
    const cron = new Cron(pattern, { timezone: 'UTC' }, () => {
      if (++seen < n) return;
      cron.stop();
      resolve();
    });
  });

describe('claiming an occurrence', () => {
  it('twenty replicas racing for the same occurrence: exactly one runs it', async () => {
    const log: Recorded[] = [];
    const job = recordingJob('race', '* * * * *', log);
    const scheduledFor = new Date(pastMinute());
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => runOccurrence(t.db, job, { ...base, scheduledFor, trigger: 'schedule', replica: `host-${i}:1` })),
    );
    expect(results.filter((r) => r.status === 'ran')).toHaveLength(1);
    expect(results.filter((r) => r.status === 'taken')).toHaveLength(19);
    expect(log).toHaveLength(1);
    const rows = await runsOf(t, 'race');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ outcome: 'succeeded', triggered_by: 'schedule', counts: { ran: 1 }, error: null });
    expect(rows[0]!.scheduled_for.getTime()).toBe(scheduledFor.getTime());
  });

  it('the unique key holds on its own: a second row for an occurrence is refused by the database', async () => {
    const row = { job_name: 'unique-key', scheduled_for: new Date(pastMinute()), triggered_by: 'schedule' as const, replica: 'x:1', started_at: new Date() };
    await t.db.insertInto('job_runs').values({ ...row, outcome: 'succeeded', finished_at: new Date() }).execute();
    await expect(t.db.insertInto('job_runs').values({ ...row, outcome: 'succeeded', finished_at: new Date() }).execute()).rejects.toMatchObject({
      code: '23505',
    });
  });

  it('ten different occurrences claimed at once while none runs yet: one is claimed, the other nine are skipped', async () => {
    const start = pastMinute() - 60 * 60_000;
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        claimRun(t.db, { job: 'burst', scheduledFor: new Date(start + i * 60_000), trigger: 'schedule', replica: `r${i}:1` }),
      ),
    );
    expect(results.filter((r) => r.status === 'claimed')).toHaveLength(1);
    expect(results.filter((r) => r.status === 'skipped')).toHaveLength(9);
    const claimed = results.find((r) => r.status === 'claimed')!;
    if (claimed.status !== 'claimed') throw new Error('unreachable');
    await executeRun(t.db, recordingJob('burst', '* * * * *', []), claimed.run, base);
    const rows = await runsOf(t, 'burst');
    expect(rows.map((r) => r.outcome).sort()).toEqual([...Array(9).fill('skipped'), 'succeeded']);
    for (const r of rows.filter((row) => row.outcome === 'skipped')) {
      expect(r.error).toMatch(new RegExp(`run ${claimed.run.id} of this job .* was still running`));
      expect(r.finished_at).not.toBeNull();
    }
  });
});

describe('a job never overlaps itself', () => {
  it('while a run is in progress, another occurrence is recorded skipped and a manual run is refused', async () => {
    const g = gate();
    let entered = false;
    const job: JobDefinition = {
      name: 'slow',
      cron: '* * * * *',
      description: 'waits for the test',
      handler: async () => {
        entered = true;
        await g.opened;
        return { waited: 1 };
      },
    };
    const first = pastMinute() - 120_000;
    const running = runOccurrence(t.db, job, { ...base, scheduledFor: new Date(first), trigger: 'schedule', replica: 'a:1' });
    while (!entered) await sleep(10);

    const second = await claimRun(t.db, { job: 'slow', scheduledFor: new Date(first + 60_000), trigger: 'schedule', replica: 'b:2' });
    expect(second.status).toBe('skipped');
    const manual = await claimRun(t.db, { job: 'slow', trigger: 'manual', replica: 'b:2' });
    expect(manual.status).toBe('busy');
    expect((await runsOf(t, 'slow')).map((r) => r.outcome)).toEqual(['running', 'skipped']);

    g.open();
    expect((await running).status).toBe('ran');
    const third = await runOccurrence(t.db, job, { ...base, scheduledFor: new Date(first + 120_000), trigger: 'schedule', replica: 'b:2' });
    expect(third.status).toBe('ran');
    expect((await runsOf(t, 'slow')).map((r) => r.outcome)).toEqual(['succeeded', 'skipped', 'succeeded']);
  });

  it('a scheduler whose fresh occurrence finds the job running elsewhere waits for it; a stale one is recorded skipped', async () => {
    const g = gate();
    let entered = false;
    const job: JobDefinition = {
      name: 'contended',
      cron: '* * * * *',
      description: 'blocks until the test opens the gate',
      handler: async () => {
        entered = true;
        await g.opened;
        return {};
      },
    };
    const M = pastMinute() - 30 * 60_000;
    const elsewhere = runOccurrence(t.db, job, { ...base, scheduledFor: new Date(M - 60_000), trigger: 'schedule', replica: 'other:1' });
    while (!entered) await sleep(10);

    const log: Recorded[] = [];
    let now = M + 2_000;
    const scheduler = new JobScheduler({ db: t.db, logger: silent, settings, jobs: [recordingJob('contended', '* * * * *', log)], replica: 'me:1', now: () => now });
    await scheduler.tick(); // start-up: M is due, the job is busy elsewhere: nothing recorded, retried
    expect((await runsOf(t, 'contended')).map((r) => r.outcome)).toEqual(['running']);
    g.open();
    await elsewhere;
    now = M + 3_000;
    await scheduler.tick();
    expect(log.map((l) => l.scheduledFor)).toEqual([M]);
    expect((await runsOf(t, 'contended')).map((r) => [r.scheduled_for.getTime() - M, r.outcome])).toEqual([
      [-60_000, 'succeeded'],
      [0, 'succeeded'],
    ]);

    // The same wait past the grace period: the occurrence is recorded skipped.
    const g2 = gate();
    entered = false;
    const blocking: JobDefinition = { ...job, handler: async () => { entered = true; await g2.opened; return {}; } };
    const elsewhere2 = runOccurrence(t.db, blocking, { ...base, scheduledFor: new Date(M + 30_000), trigger: 'schedule', replica: 'other:1' });
    while (!entered) await sleep(10);
    now = M + 60_000 + 1_000;
    await scheduler.tick(); // M+60 s is fresh: waits
    now = M + 60_000 + OVERLAP_GRACE_MS;
    await scheduler.tick(); // still busy after the grace: skipped
    g2.open();
    await elsewhere2;
    await scheduler.stop();
    const last = (await runsOf(t, 'contended')).at(-1)!;
    expect([last.scheduled_for.getTime() - M, last.outcome]).toEqual([60_000, 'skipped']);
    expect(last.error).toMatch(/was still running/);
  });

  it('a run whose process died is detected by its lapsed lease, marked failed with the reason, and no longer blocks', async () => {
    const at = new Date(pastMinute() - 300_000);
    await t.db
      .insertInto('job_runs')
      .values({
        job_name: 'orphan',
        scheduled_for: at,
        triggered_by: 'schedule',
        outcome: 'running',
        replica: 'dead-host:4242',
        started_at: new Date(at.getTime() + 10),
        lease_expires_at: new Date(Date.now() - 1000),
      })
      .execute();
    const log: Recorded[] = [];
    const result = await runOccurrence(t.db, recordingJob('orphan', '* * * * *', log), {
      ...base,
      scheduledFor: new Date(at.getTime() + 60_000),
      trigger: 'schedule',
      replica: 'live:1',
    });
    expect(result.status).toBe('ran');
    const [dead, next] = await runsOf(t, 'orphan');
    expect(dead).toMatchObject({ outcome: 'failed', lease_expires_at: null });
    expect(dead!.error).toMatch(/^lease expired at .*: dead-host:4242 stopped renewing it/);
    expect(dead!.finished_at).not.toBeNull();
    expect(next).toMatchObject({ outcome: 'succeeded', replica: 'live:1' });
  });

  it('a live run renews its lease, so a long run is not taken for dead', async () => {
    const g = gate();
    let entered = false;
    const job: JobDefinition = {
      name: 'long',
      cron: '* * * * *',
      description: 'outlives its lease several times',
      handler: async () => {
        entered = true;
        await g.opened;
        return {};
      },
    };
    const at = pastMinute() - 60_000;
    const running = runOccurrence(t.db, job, { ...base, leaseMs: 400, scheduledFor: new Date(at), trigger: 'schedule', replica: 'a:1' });
    while (!entered) await sleep(10);
    // Three leases long: the run keeps pushing its lease out while it runs.
    const leaseOf = async () => (await runsOf(t, 'long'))[0]!.lease_expires_at!.getTime();
    const firstLease = await leaseOf();
    await waitFor(async () => (await leaseOf()) >= firstLease + 1200, 60_000, 'three leases of renewals');
    expect(await reapExpiredRuns(t.db)).toBe(0);
    const other = await claimRun(t.db, { job: 'long', scheduledFor: new Date(at + 60_000), trigger: 'schedule', replica: 'b:2' });
    expect(other.status).toBe('skipped');
    g.open();
    await running;
    expect((await runsOf(t, 'long')).map((r) => r.outcome)).toEqual(['succeeded', 'skipped']);
  });
});

describe('clocks', () => {
  it('the database refuses a scheduled occurrence more than 30 s ahead of its clock (a clock too fast), not one within', async () => {
    const now = Date.now();
    const ahead = await claimRun(t.db, { job: 'ahead', scheduledFor: new Date(now + 45_000), trigger: 'schedule', replica: 'fast:1' });
    expect(ahead.status).toBe('too-early');
    expect(await runsOf(t, 'ahead')).toHaveLength(0);
    const within = await runOccurrence(t.db, recordingJob('ahead', '* * * * *', []), {
      ...base,
      scheduledFor: new Date(now + 20_000),
      trigger: 'schedule',
      replica: 'fast:1',
    });
    expect(within.status).toBe('ran');
  });

  /**
   * Three replicas with clocks off by -30 s, 0 and +30 s look every second of
   * (fake) true time, in a shuffled order, across minute boundaries.
   */
  function simulate(job: (log: Recorded[], clock: () => number, replica: string) => JobDefinition, skews: Record<string, number>, from: number, to: number, alive: (replica: string, trueTime: number) => boolean = () => true) {
    const log: Recorded[] = [];
    let trueTime = from;
    const schedulers = Object.entries(skews).map(
      ([replica, skew]) =>
        [replica, new JobScheduler({ db: t.db, logger: silent, settings, jobs: [job(log, () => trueTime, replica)], replica, now: () => trueTime + skew })] as const,
    );
    return (async () => {
      let seed = 7;
      for (; trueTime <= to; trueTime += 1000) {
        const order = [...schedulers].sort(() => ((seed = (seed * 16807) % 2147483647) % 3) - 1);
        for (const [replica, scheduler] of order) if (alive(replica, trueTime)) await scheduler.tick();
      }
      for (const [, s] of schedulers) await s.stop();
      return log;
    })();
  }

  const withTrueTime = (name: string, cron: string) => (log: Recorded[], clock: () => number, replica: string) =>
    recordingJob(name, cron, log, () => ({ trueTime: clock(), replica }));

  it('clocks ±30 s apart: each occurrence runs once, claimed by the first clock to reach it, within 30 s of true time', async () => {
    const B = pastMinute() - 5 * 60_000;
    const log = await simulate(withTrueTime('skewed', '* * * * *'), { slow: -30_000, exact: 0, fast: 30_000 }, B - 90_000, B + 149_000);
    const rows = (await runsOf(t, 'skewed')).filter((r) => r.scheduled_for.getTime() >= B);
    expect(rows.map((r) => r.scheduled_for.getTime())).toEqual([B, B + 60_000, B + 120_000]);
    expect(rows.every((r) => r.outcome === 'succeeded')).toBe(true);
    const ran = log.filter((l) => l.scheduledFor >= B);
    expect(ran.map((l) => [l.scheduledFor - B, l.replica, l.trueTime! - l.scheduledFor])).toEqual([
      [0, 'fast', -30_000],
      [60_000, 'fast', -30_000],
      [120_000, 'fast', -30_000],
    ]);
  });

  it('only a slow clock up: it still runs every occurrence, 30 s late, none missed', async () => {
    const B = pastMinute() - 5 * 60_000;
    const log = await simulate(withTrueTime('slow-only', '* * * * *'), { slow: -30_000 }, B - 60_000, B + 149_000);
    const ran = log.filter((l) => l.scheduledFor >= B);
    expect(ran.map((l) => [l.scheduledFor - B, l.trueTime! - l.scheduledFor])).toEqual([
      [0, 30_000],
      [60_000, 30_000],
    ]);
    expect((await runsOf(t, 'slow-only')).filter((r) => r.scheduled_for.getTime() >= B)).toHaveLength(2);
  });

  it('a period shorter than the skew, and the fast replica dies midway: every occurrence once, no gap', async () => {
    const B = pastMinute() - 6 * 60_000;
    const log = await simulate(
      withTrueTime('dense', '*/10 * * * * *'),
      { slow: -30_000, exact: 0, fast: 30_000 },
      B,
      B + 180_000,
      (replica, trueTime) => replica !== 'fast' || trueTime < B + 60_000,
    );
    const rows = await runsOf(t, 'dense');
    const times = rows.map((r) => r.scheduled_for.getTime());
    expect(new Set(times).size).toBe(times.length);
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBe(10_000);
    expect(times.at(-1)).toBe(B + 180_000);
    expect(rows.every((r) => r.outcome === 'succeeded')).toBe(true);
    // Each occurrence's handler ran exactly once.
    expect(log.map((l) => l.scheduledFor).sort((a, b) => a - b)).toEqual(times);
    // The fast replica ran ahead while it lived; the others took over with no gap after it died.
    expect(new Set(log.map((l) => l.replica))).toEqual(new Set(['fast', 'exact', 'slow']));
  });
});

describe('catch-up after every replica was down: once, not N times', () => {
  const H = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3 * 3_600_000;

  it('runs the latest due occurrence once; the ones missed before it are not run', async () => {
    await t.db
      .insertInto('job_runs')
      .values({ job_name: 'hourly', scheduled_for: new Date(H - 5 * 3_600_000), triggered_by: 'schedule', outcome: 'succeeded', replica: 'old:1', started_at: new Date(H - 5 * 3_600_000), finished_at: new Date(H - 5 * 3_600_000 + 1000) })
      .execute();
    const log: Recorded[] = [];
    const job = recordingJob('hourly', '0 * * * *', log);
    const first = new JobScheduler({ db: t.db, logger: silent, settings, jobs: [job], replica: 'a:1', now: () => H + 10 * 60_000 });
    await first.tick();
    await first.tick();
    await first.stop();
    // A second replica starting a little later finds it done.
    const second = new JobScheduler({ db: t.db, logger: silent, settings, jobs: [job], replica: 'b:1', now: () => H + 12 * 60_000 });
    await second.tick();
    await second.stop();
    // A replica with a slow clock that still thinks the previous hour is the latest: superseded, not run.
    const slow = new JobScheduler({ db: t.db, logger: silent, settings, jobs: [job], replica: 'c:1', now: () => H - 60_000 });
    await slow.tick();
    await slow.stop();

    expect(log.map((l) => l.scheduledFor)).toEqual([H]);
    const rows = await runsOf(t, 'hourly');
    expect(rows.map((r) => [r.scheduled_for.getTime(), r.triggered_by, r.outcome, r.replica])).toEqual([
      [H - 5 * 3_600_000, 'schedule', 'succeeded', 'old:1'],
      [H, 'catch-up', 'succeeded', 'a:1'],
    ]);
  });

  it('a frequent job down for an hour: one catch-up run, then on time again', async () => {
    const M = pastMinute() - 30 * 60_000;
    const log: Recorded[] = [];
    let now = M + 45_000;
    const scheduler = new JobScheduler({ db: t.db, logger: silent, settings, jobs: [recordingJob('minutely', '* * * * *', log)], replica: 'a:1', now: () => now });
    await scheduler.tick(); // start-up: M is 45 s old, a catch-up
    now = M + 60_000;
    await scheduler.tick();
    await scheduler.stop();
    expect((await runsOf(t, 'minutely')).map((r) => [r.scheduled_for.getTime() - M, r.triggered_by])).toEqual([
      [0, 'catch-up'],
      [60_000, 'schedule'],
    ]);
  });
});

describe('the scheduler on its own timer', () => {
  it('start() looks at once and then every second; stop() ends it', async () => {
    const log: Recorded[] = [];
    const scheduler = new JobScheduler({ db: t.db, logger: silent, settings, jobs: [recordingJob('ticking', '* * * * * *', log)], replica: 'timer:1' }).start();
    await waitFor(async () => log.length >= 2, 60_000, 'a look at once and another a second later');
    await scheduler.stop();
    const count = log.length;
    expect(count).toBeGreaterThanOrEqual(2);
    // Two more occurrences of the job's schedule come due and pass: a scheduler still ticking would run them.
    await occurrencesPass('* * * * * *', 2);
    expect(log.length).toBe(count);
    const rows = await runsOf(t, 'ticking');
    expect(rows).toHaveLength(count);
    for (const r of rows) expect(r.scheduled_for.getTime() % 1000).toBe(0);
  });
});

describe('afterwards', () => {
  it('nothing is left running', async () => {
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from job_runs where outcome = 'running'`.execute(t.db);
    expect(rows[0]!.n).toBe(0);
  });
});
