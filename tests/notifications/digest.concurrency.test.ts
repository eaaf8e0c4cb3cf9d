import { afterAll, describe, expect, it } from 'vitest';
import { savePreferences } from '../../src/notifications/preferences.js';
import { localClock } from '../../src/notifications/time.js';
import { createTestDatabase, onServer, type TestDatabase } from '../support/db.js';
import { freePort, type Spawned, spawnTs, waitFor } from '../support/process.js';
import { member, SmtpSink } from './support.js';

/**
 * Three real service processes on one PostgreSQL database (clocks exact,
 * 8 s fast, 3 s slow), each scheduling the digest job every second and each
 * running a delivery worker: every person gets exactly one digest for the
 * day, received once by a real SMTP server. Server only: the embedded
 * database belongs to one process.
 */
let t: TestDatabase | undefined;
let smtp: SmtpSink | undefined;
const procs: Spawned[] = [];
afterAll(async () => {
  for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  await Promise.all(procs.map((p) => p.exited));
  await smtp?.stop();
  await t?.close();
});

const ZONES = ['Asia/Shanghai', 'Asia/Kolkata', 'Europe/Berlin', 'America/New_York', 'Pacific/Auckland', 'UTC', 'Asia/Kathmandu', 'America/St_Johns', 'Australia/Adelaide'];

describe.runIf(onServer())('daily digests with three replicas', () => {
  it('send exactly one digest per person and day', async () => {
    t = await createTestDatabase();
    const db = t.db;
    smtp = await new SmtpSink().start();
    const now = new Date();
    const people = ZONES.map((zone, i) => ({ email: `p${i}@replicas.example`, zone, language: i % 2 ? ('zh-CN' as const) : ('en' as const) }));
    for (const p of people) {
      await member(db, p.email, { timezone: p.zone });
      // Due from a minute ago, every day, no quiet hours.
      await savePreferences(db, p.email, { language: p.language, quietHours: null, digestMinute: Math.max(0, localClock(now, p.zone).minute - 1), digestDays: [1, 2, 3, 4, 5, 6, 7] });
    }

    const start = async (skewMs: number) => {
      const port = await freePort();
      const proc = spawnTs('src/node.ts', [], {
        DATABASE_URL: t!.url,
        PORT: String(port),
        HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
        JOBS_EXTRA: 'notification-digests-every-second',
        JOBS_CLOCK_SKEW_MS: String(skewMs),
        SMTP_URL: smtp!.url,
        SMTP_FROM: 'healthscore <noreply@example.com>',
        WEB_APP_URL: 'https://cs.example.com',
        OUTBOX_POLL_INTERVAL_MS: '100',
        WEBHOOK_ALLOW_PRIVATE_URLS: 'true',
      });
      procs.push(proc);
      await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).ok, 60_000, `replica with skew ${skewMs} ms`);
      return proc;
    };
    const runs = async () =>
      (await db.selectFrom('job_runs').select(['id', 'replica', 'counts']).where('job_name', '=', 'notification-digests-every-second').where('outcome', '=', 'succeeded').execute());

    const replicas = await Promise.all([start(0), start(8_000), start(-3_000)]);
    await waitFor(async () => smtp!.mails.length >= people.length, 60_000, 'a digest for everyone');
    // Keep going for a while: every replica gets more chances to send one again.
    const seen = (await runs()).length;
    await waitFor(async () => (await runs()).length >= seen + 8, 60_000, 'eight more runs of the job');
    await waitFor(
      async () => (await db.selectFrom('webhook_deliveries').select('id').where('status', '!=', 'succeeded').execute()).length === 0,
      30_000,
      'every delivery recorded',
    );
    for (const p of replicas) p.child.kill('SIGTERM');
    const codes = await Promise.all(replicas.map((p) => p.exited));
    expect(codes, replicas.map((p) => p.output().slice(-2000)).join('\n---\n')).toEqual([0, 0, 0]);

    const rows = await db.selectFrom('notification_digests').select(['member_email', 'local_date']).orderBy('member_email').execute();
    expect(rows.map((r) => r.member_email)).toEqual(people.map((p) => p.email).sort());
    for (const p of people) {
      const mails = smtp.to(p.email);
      expect(mails, p.email).toHaveLength(1);
      expect(mails[0]!.parsed.subject).toBe(
        p.language === 'en' ? `Your healthscore digest for ${rows.find((r) => r.member_email === p.email)!.local_date}` : `您的 healthscore 每日摘要（${rows.find((r) => r.member_email === p.email)!.local_date}）`,
      );
    }
    // The digests were made by whichever replica claimed each second first; the runs themselves were spread.
    // (The registry's every-15-minutes job may have run too, as a catch-up at start-up: its digests count with the rest.)
    const all = await runs();
    const registryRuns = await db.selectFrom('job_runs').select(['counts']).where('job_name', '=', 'notification-digests').where('outcome', '=', 'succeeded').execute();
    expect([...all, ...registryRuns].reduce((sum, r) => sum + Number((r.counts as { sent?: number }).sent ?? 0), 0)).toBe(people.length);
    expect(new Set(all.map((r) => r.replica)).size).toBeGreaterThan(1);
  }, 180_000);
});
