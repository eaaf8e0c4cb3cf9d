import { readFile } from 'node:fs/promises';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extraJobs, registry, scheduledJobs } from '../../src/compose/jobs.js';
import { settingsFromConfig, startJobs } from '../../src/compose/node.js';
import { createApiKey } from '../../src/auth/repository.js';
import { parseConfig } from '../../src/config.js';
import { compileCron, nextOccurrence } from '../../src/jobs/cron.js';
import { settingsFromEnv } from '../../src/jobs/environment.js';
import { createSubscription, enqueueEvent } from '../../src/webhooks/outbound/repository.js';
import { Receiver } from '../webhooks/outbound-receiver.js';
import { checkJobs } from '../../src/jobs/scheduler.js';
import { dispatchCronTrigger } from '../../src/jobs/workers.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { ROOT } from '../support/process.js';
import { runsOf, settings, silent } from './support.js';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(() => t.close());

/** `[triggers] crons` of wrangler.toml: a small reading of that one array (TOML strings, comments, line breaks). */
async function wranglerCrons(): Promise<string[]> {
  const toml = await readFile(`${ROOT}wrangler.toml`, 'utf8');
  const lines = toml.split('\n').map((l) => l.replace(/(^|\s)#.*$/, ''));
  const start = lines.findIndex((l) => /^\s*\[triggers\]\s*$/.test(l));
  expect(start, 'wrangler.toml has a [triggers] table').toBeGreaterThanOrEqual(0);
  const rest = lines.slice(start + 1);
  const end = rest.findIndex((l) => /^\s*\[/.test(l));
  const section = (end < 0 ? rest : rest.slice(0, end)).join('\n');
  const array = /^\s*crons\s*=\s*\[([^\]]*)\]/m.exec(section);
  expect(array, '[triggers] has a crons array').not.toBeNull();
  return [...array![1]!.matchAll(/"((?:[^"\\]|\\.)*)"|'([^']*)'/g)].map((m) => m[1] ?? m[2]!);
}

describe('the job registry', () => {
  it('has the jobs this issue asks for, well-formed, with cron expressions the scheduler and Cloudflare both read alike', () => {
    expect(registry.map((j) => j.name)).toEqual(
      expect.arrayContaining(['prune-idempotency-keys', 'prune-usage-events', 'prune-inbound-webhook-messages']),
    );
    const compiled = checkJobs(registry);
    for (const job of registry) {
      expect(job.description.length, job.name).toBeGreaterThan(10);
      // Cron Triggers have no seconds field.
      expect(compiled.get(job.name)!.granularityMs, job.name).toBe(60_000);
      expect(job.cron.trim().split(/\s+/), job.name).toHaveLength(5);
    }
  });

  it('schedules the prunes hourly and daily', () => {
    // The gaps between a job's occurrences over nine days.
    const gapsOf = (name: string) => {
      const c = compileCron(registry.find((j) => j.name === name)!.cron);
      const gaps = new Set<number>();
      for (let t = nextOccurrence(c, Date.UTC(2026, 2, 1)).getTime(); t < Date.UTC(2026, 2, 10); ) {
        const next = nextOccurrence(c, t).getTime();
        gaps.add(next - t);
        t = next;
      }
      return [...gaps];
    };
    expect(gapsOf('prune-idempotency-keys')).toEqual([3_600_000]);
    for (const daily of ['prune-usage-events', 'prune-inbound-webhook-messages']) expect(gapsOf(daily), daily).toEqual([86_400_000]);
  });

  it('wrangler.toml [triggers] crons lists exactly the registry’s cron expressions', async () => {
    const crons = await wranglerCrons();
    expect(new Set(crons).size, 'no duplicates in wrangler.toml').toBe(crons.length);
    expect([...crons].sort()).toEqual([...new Set(registry.map((j) => j.cron))].sort());
  });

  it('extra jobs are never in the registry (so never Cron Triggers) and are chosen by name', () => {
    for (const name of Object.keys(extraJobs)) expect(registry.map((j) => j.name)).not.toContain(name);
    expect(scheduledJobs(['heartbeat']).map((j) => j.name)).toContain('heartbeat');
    expect(() => scheduledJobs(['nope'])).toThrow(/JOBS_EXTRA: unknown job\(s\) nope/);
    checkJobs(Object.values(extraJobs));
  });

  it('settings: JOBS_ENABLED defaults to true and reads false; retention defaults to 400 days', () => {
    const config = parseConfig({});
    expect(config).toMatchObject({ JOBS_ENABLED: true, JOBS_EXTRA: [], JOBS_CLOCK_SKEW_MS: 0, USAGE_RETENTION_DAYS: 400 });
    expect(parseConfig({ JOBS_ENABLED: 'false', JOBS_EXTRA: 'heartbeat', USAGE_RETENTION_DAYS: '30' })).toMatchObject({
      JOBS_ENABLED: false,
      JOBS_EXTRA: ['heartbeat'],
      USAGE_RETENTION_DAYS: 30,
    });
    expect(() => parseConfig({ JOBS_ENABLED: 'perhaps' })).toThrow(/JOBS_ENABLED/);
    expect(settingsFromEnv({ USAGE_RETENTION_DAYS: '90', WEBHOOK_RETENTION_DAYS: '7', WEBHOOK_RETRY_SCHEDULE_MS: '5,10' })).toEqual({
      usageRetentionDays: 90,
      webhookRetentionDays: 7,
      outboxDelivery: 'cron',
      delivery: { requestTimeoutMs: 15_000, retryScheduleMs: [5, 10] },
    });
    // A bad Worker setting fails loudly, naming it, instead of falling back to the default.
    expect(() => settingsFromEnv({ WEBHOOK_RETENTION_DAYS: 'soon' })).toThrow(/WEBHOOK_RETENTION_DAYS/);
    expect(settingsFromConfig(config)).toEqual({
      usageRetentionDays: 400,
      webhookRetentionDays: 30,
      outboxDelivery: 'continuous',
      delivery: {
        requestTimeoutMs: 15_000,
        checkDestination: expect.any(Function), // private destinations refused unless WEBHOOK_ALLOW_PRIVATE_URLS
        fetch: expect.any(Function), // connects only to the checked address
        notifications: { baseUrl: 'http://localhost:8787' }, // links in notifications; no SMTP_URL, no mailer
      },
    });
    expect(settingsFromConfig(parseConfig({ WEBHOOK_ALLOW_PRIVATE_URLS: 'true' })).delivery.checkDestination).toBeUndefined();
    expect(settingsFromConfig(parseConfig({ OUTBOX_WORKER_ENABLED: 'false' })).outboxDelivery).toBe('cron');
    // JOBS_ENABLED=false: no scheduler.
    expect(startJobs({ ...config, JOBS_ENABLED: false }, t.db, silent)).toBeUndefined();
  });
});

describe('the prune jobs', () => {
  const job = (name: string) => registry.find((j) => j.name === name)!;
  const run = (name: string, retention = 400) =>
    job(name).handler({ db: t.db, logger: silent, scheduledFor: new Date(), settings: { ...settings, usageRetentionDays: retention } });

  it('prune-idempotency-keys deletes expired stored responses only', async () => {
    const { info } = await createApiKey(t.db, 'prune-test', ['write']);
    await sql`
      insert into idempotency_keys (api_key_id, idempotency_key, request_hash, response_status, response_body, expires_at)
      values (${info.id}, 'old', 'h', 200, '{}', now() - interval '1 hour'),
             (${info.id}, 'live', 'h', 200, '{}', now() + interval '1 hour')`.execute(t.db);
    expect(await run('prune-idempotency-keys')).toEqual({ deleted: 1 });
    const left = await t.db.selectFrom('idempotency_keys').select('idempotency_key').execute();
    expect(left.map((r) => r.idempotency_key)).toEqual(['live']);
  });

  it('prune-usage-events drops whole months of raw events past the retention and never touches the rollups', async () => {
    // Month by month (tests/db/partitions.happy.test.ts has the details): a fixed occurrence, rows dated around it.
    const scheduledFor = new Date('2020-03-15T03:23:00Z');
    await sql`insert into accounts (external_id, name) values ('prune-co', 'Prune Co')`.execute(t.db);
    const { rows } = await sql<{ id: number }>`select id from accounts where external_id = 'prune-co'`.execute(t.db);
    const account = rows[0]!.id;
    await sql`
      insert into usage_events (account_id, event_id, occurred_at, metric, received_at) values
        (${account}, 'ancient', '2018-01-10 12:00:00+00', 'login', '2018-01-10 12:00:00+00'),
        (${account}, 'recent',  '2020-03-01 12:00:00+00', 'login', '2020-03-01 12:00:00+00')`.execute(t.db);
    await sql`
      insert into usage_daily (account_id, day, metric, events, quantity, active_users)
      values (${account}, '2018-01-10', 'login', 1, 1, 1)`.execute(t.db);

    const prune = job('prune-usage-events');
    expect(await prune.handler({ db: t.db, logger: silent, scheduledFor, settings: { ...settings, usageRetentionDays: 400 } })).toEqual({
      partitionsDropped: 1,
      keptForLateEvents: 0,
      busy: 0,
      retentionDays: 400,
    });
    const left = await t.db.selectFrom('usage_events').select('event_id').where('account_id', '=', account).orderBy('event_id').execute();
    expect(left.map((r) => r.event_id)).toEqual(['recent']);
    const rollups = await sql<{ n: number }>`select count(*)::int as n from usage_daily where account_id = ${account}`.execute(t.db);
    expect(rollups.rows[0]!.n).toBe(1);
  });

  it('prune-inbound-webhook-messages deletes webhook-id records older than 7 days', async () => {
    await sql`insert into webhook_sources (name) values ('prune-src')`.execute(t.db);
    await sql`
      insert into inbound_webhook_messages (source, webhook_id, received_at) values
        ('prune-src', 'old', now() - interval '8 days'),
        ('prune-src', 'new', now() - interval '6 days')`.execute(t.db);
    expect(await run('prune-inbound-webhook-messages')).toEqual({ deleted: 1 });
    const left = await t.db.selectFrom('inbound_webhook_messages').select('webhook_id').execute();
    expect(left.map((r) => r.webhook_id)).toEqual(['new']);
  });
});

describe('the outbox jobs', () => {
  const job = (name: string) => registry.find((j) => j.name === name)!;
  const run = (name: string, overrides: Partial<typeof settings>) =>
    job(name).handler({ db: t.db, logger: silent, scheduledFor: new Date(), settings: { ...settings, ...overrides } });

  it('deliver-webhooks sends what is due where no worker runs, and leaves it to the worker where one does', async () => {
    const receiver = await new Receiver().start();
    try {
      const { subscription, secret } = await createSubscription(t.db, { url: `${receiver.url}/jobs`, eventTypes: ['follow_up.due'] });
      receiver.secret = secret;
      for (let i = 0; i < 3; i++) await enqueueEvent(t.db, { type: 'follow_up.due', payload: { i } });

      expect(await run('deliver-webhooks', { outboxDelivery: 'continuous' })).toEqual({ attempts: 0, continuous: 1 });
      expect(receiver.received).toHaveLength(0);

      expect(await run('deliver-webhooks', { outboxDelivery: 'cron' })).toEqual({ attempts: 3 });
      expect(receiver.acceptedById().size).toBe(3);
      const statuses = await t.db.selectFrom('webhook_deliveries').select('status').where('subscription_id', '=', subscription.id).execute();
      expect(statuses.map((s) => s.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
      expect(await run('deliver-webhooks', { outboxDelivery: 'cron' })).toEqual({ attempts: 0 });
    } finally {
      await receiver.stop();
    }
  });

  it('prune-webhook-outbox deletes old events with nothing pending, with their deliveries', async () => {
    const { subscription } = await createSubscription(t.db, { url: 'http://127.0.0.1:9/never', eventTypes: ['follow_up.overdue'] });
    const oldDone = await enqueueEvent(t.db, { type: 'follow_up.overdue', payload: { n: 'old-done' } });
    const oldPending = await enqueueEvent(t.db, { type: 'follow_up.overdue', payload: { n: 'old-pending' } });
    const recent = await enqueueEvent(t.db, { type: 'follow_up.overdue', payload: { n: 'recent' } });
    await sql`update webhook_events set created_at = now() - interval '40 days' where id in (${oldDone.eventId}, ${oldPending.eventId})`.execute(t.db);
    await sql`update webhook_deliveries set status = 'succeeded', next_attempt_at = null where event_id in (${oldDone.eventId}, ${recent.eventId})`.execute(t.db);

    expect(await run('prune-webhook-outbox', { webhookRetentionDays: 60 })).toEqual({ deleted: 0, retentionDays: 60 });
    expect(await run('prune-webhook-outbox', { webhookRetentionDays: 30 })).toEqual({ deleted: 1, retentionDays: 30 });
    const events = await t.db.selectFrom('webhook_events').select('id').where('id', 'in', [oldDone.eventId, oldPending.eventId, recent.eventId]).execute();
    expect(events.map((e) => e.id).sort()).toEqual([oldPending.eventId, recent.eventId].sort());
    const deliveries = await t.db.selectFrom('webhook_deliveries').select('event_id').where('subscription_id', '=', subscription.id).execute();
    expect(deliveries.map((d) => d.event_id)).not.toContain(oldDone.eventId);
    expect(deliveries).toHaveLength(2);
  });
});

describe('Workers Cron Triggers', () => {
  const hourly = registry.find((j) => j.name === 'prune-idempotency-keys')!;

  it('dispatches the jobs of the trigger’s expression, once per occurrence however often the trigger fires', async () => {
    const minute = Math.floor(Date.now() / 60_000) * 60_000 - 60_000;
    const trigger = { cron: hourly.cron, scheduledTime: minute };
    const first = await dispatchCronTrigger(t.db, trigger, { jobs: registry, logger: silent, settings });
    expect(first.map((r) => [r.job, r.result.status])).toEqual([[hourly.name, 'ran']]);
    const again = await dispatchCronTrigger(t.db, { ...trigger, scheduledTime: minute + 15 }, { jobs: registry, logger: silent, settings });
    expect(again.map((r) => [r.job, r.result.status])).toEqual([[hourly.name, 'taken']]);
    const rows = (await runsOf(t, hourly.name)).filter((r) => r.triggered_by !== 'manual');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ replica: 'workers', outcome: 'succeeded', triggered_by: 'schedule' });
    expect(rows[0]!.scheduled_for.getTime()).toBe(minute);
  });

  it('an expression no job has is reported, not run', async () => {
    const warnings: string[] = [];
    const logger = { ...silent, warn: (msg: string) => void warnings.push(msg) };
    expect(await dispatchCronTrigger(t.db, { cron: '0 0 * * *', scheduledTime: Date.now() }, { jobs: registry, logger, settings })).toEqual([]);
    expect(warnings[0]).toMatch(/matches no job/);
  });
});
