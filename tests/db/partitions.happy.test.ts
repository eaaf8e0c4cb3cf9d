import { type Kysely, Migrator, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registry } from '../../src/compose/jobs.js';
import { createEmbeddedDb } from '../../src/db/embedded.js';
import { sqlMigrationProvider } from '../../src/db/migrations.js';
import { readMigrationFile } from '../../src/db/node.js';
import { createPostgresDb } from '../../src/db/postgres.js';
import type { Database } from '../../src/db/schema.js';
import { createLogger } from '../../src/logger.js';
import { ingestBatch, SIGNALS } from '../../src/signals/ingest.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { adminUrl, databaseUrl } from '../support/urls.js';

const silent = createLogger('silent');
const settings = { usageRetentionDays: 400, webhookRetentionDays: 30, outboxDelivery: 'continuous' as const, delivery: {} };
const runJob = (db: Kysely<Database>, name: string, scheduledFor: Date, usageRetentionDays = 400) =>
  registry.find((j) => j.name === name)!.handler({ db, logger: silent, scheduledFor, settings: { ...settings, usageRetentionDays } });

/** Which partition holds each of an account's events. */
const placement = async (db: Kysely<Database>, accountId: number) =>
  Object.fromEntries(
    (
      await sql<{ event_id: string; part: string }>`
        select event_id, tableoid::regclass::text as part from usage_events where account_id = ${accountId} order by event_id`.execute(db)
    ).rows.map((r) => [r.event_id, r.part]),
  );

const newAccount = async (db: Kysely<Database>, externalId: string) =>
  (await sql<{ id: number }>`insert into accounts (external_id, name) values (${externalId}, ${externalId}) returning id`.execute(db)).rows[0]!.id;

/** An empty database of its own, not migrated: the embedded one in memory, or a new one on the server. */
async function emptyDatabase(): Promise<{ db: Kysely<Database>; close: () => Promise<void> }> {
  const serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) return createEmbeddedDb();
  const name = `hs_part_${Math.random().toString(36).slice(2, 10)}`;
  const admin = createPostgresDb({ url: adminUrl(serverUrl), max: 1 });
  await sql.raw(`create database ${name}`).execute(admin.db);
  const own = createPostgresDb({ url: databaseUrl(serverUrl, name), max: 2 });
  return {
    db: own.db,
    close: async () => {
      await own.close();
      await sql.raw(`drop database if exists ${name} with (force)`).execute(admin.db);
      await admin.close();
    },
  };
}

describe('migrating an existing install to partitioned usage tables', () => {
  it('moves every row into its month’s partition and keeps keys, foreign keys and indexes', async () => {
    const { db, close } = await emptyDatabase();
    try {
      const migrator = new Migrator({ db, provider: sqlMigrationProvider(readMigrationFile) });
      const before = await migrator.migrateTo('0025_web_people');
      expect(before.error).toBeUndefined();
      const account = await newAccount(db, 'old-install');
      await sql`
        insert into usage_events (account_id, event_id, occurred_at, metric, user_id) values
          (${account}, 'e-2024-03', '2024-03-31 23:59:59+00', 'login', 'ann'),
          (${account}, 'e-2024-04', '2024-04-01 00:00:00+00', 'login', 'ann'),
          (${account}, 'e-2026-11', '2026-11-15 12:00:00+00', 'login', null)`.execute(db);
      await sql`
        insert into usage_daily (account_id, day, metric, events, quantity, active_users) values
          (${account}, '2024-03-31', 'login', 1, 1, 1), (${account}, '2024-04-01', 'login', 1, 1, 1), (${account}, '2026-11-15', 'login', 1, 1, 0)`.execute(db);
      await sql`
        insert into usage_daily_users (account_id, day, metric, user_id) values
          (${account}, '2024-03-31', 'login', 'ann'), (${account}, '2024-04-01', 'login', 'ann')`.execute(db);

      const after = await migrator.migrateToLatest();
      expect(after.error).toBeUndefined();

      expect(await placement(db, account)).toEqual({
        'e-2024-03': 'usage_events_p2024_03',
        'e-2024-04': 'usage_events_p2024_04',
        'e-2026-11': 'usage_events_p2026_11',
      });
      const rollups = await sql<{ day: string; part: string }>`
        select day::text as day, tableoid::regclass::text as part from usage_daily order by day`.execute(db);
      expect(rollups.rows).toEqual([
        { day: '2024-03-31', part: 'usage_daily_p2024_03' },
        { day: '2024-04-01', part: 'usage_daily_p2024_04' },
        { day: '2026-11-15', part: 'usage_daily_p2026_11' },
      ]);
      const users = await sql<{ part: string }>`select tableoid::regclass::text as part from usage_daily_users order by day`.execute(db);
      expect(users.rows.map((r) => r.part)).toEqual(['usage_daily_users_p2024_03', 'usage_daily_users_p2024_04']);

      // Partitioned, with the key, the account foreign key and the received_at index on every partition.
      const tables = await sql<{ relname: string; relkind: string }>`
        select relname, relkind from pg_class where relname in ('usage_events', 'usage_daily', 'usage_daily_users') order by relname`.execute(db);
      expect(tables.rows.map((r) => r.relkind)).toEqual(['p', 'p', 'p']);
      const partition = await sql<{ pkey: string; fkey: string; received: number }>`
        select (select pg_get_constraintdef(oid) from pg_constraint where conrelid = 'usage_events_p2024_03'::regclass and contype = 'p') as pkey,
               (select pg_get_constraintdef(oid) from pg_constraint where conrelid = 'usage_events_p2024_03'::regclass and contype = 'f') as fkey,
               (select count(*)::int from pg_index i join pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
                 where i.indrelid = 'usage_events_p2024_03'::regclass and a.attname = 'received_at') as received`.execute(db);
      expect(partition.rows[0]).toEqual({
        pkey: 'PRIMARY KEY (account_id, event_id, occurred_at)',
        fkey: 'FOREIGN KEY (account_id) REFERENCES accounts(id)',
        received: 1,
      });
      const leftovers = await sql<{ n: number }>`select count(*)::int as n from pg_class where relname like '%_unpartitioned%'`.execute(db);
      expect(leftovers.rows[0]!.n).toBe(0);
      // The foreign key still refuses an unknown account.
      await expect(sql`insert into usage_events (account_id, event_id, occurred_at, metric) values (-1, 'x', '2024-03-02', 'login')`.execute(db)).rejects.toThrow(
        /foreign key/,
      );
    } finally {
      await close();
    }
  });
});

describe('partition maintenance across a month boundary (frozen clock)', () => {
  let t: TestDatabase;
  let account: number;
  // Before the real date: the partitions the migration prepared for "now" lie in this clock's future, where retention never reaches.
  const jan31 = new Date('2020-01-31T23:59:00Z');
  const feb1 = new Date('2020-02-01T00:01:00Z');
  beforeAll(async () => {
    t = await createTestDatabase();
    account = await newAccount(t.db, 'boundary-co');
  });
  afterAll(() => t.close());

  it('a back-dated event for a month without a partition is stored in the default partition, never refused', async () => {
    await sql`
      insert into usage_events (account_id, event_id, occurred_at, metric, received_at) values
        (${account}, 'dec-old',  '2019-12-10 08:00:00+00', 'login', '2019-12-10 08:00:05+00'),
        (${account}, 'nov-late', '2019-11-05 08:00:00+00', 'login', '2020-01-20 09:00:00+00'),
        (${account}, 'jan-in',   '2020-01-15 08:00:00+00', 'login', '2020-01-15 08:00:05+00')`.execute(t.db);
    expect(await placement(t.db, account)).toEqual({ 'dec-old': 'usage_events_default', 'jan-in': 'usage_events_default', 'nov-late': 'usage_events_default' });
  });

  it('on Jan 31 23:59 maintenance has prepared February and moved the back-dated rows to their months', async () => {
    // January to April for three tables, plus November and December 2019 for the events in the default partition.
    expect(await runJob(t.db, 'maintain-usage-partitions', jan31)).toEqual({ created: 14, busy: 0, analyzed: 1 });
    const feb = await sql<{ name: string | null }>`select to_regclass('usage_events_p2020_02')::text as name`.execute(t.db);
    expect(feb.rows[0]!.name).toBe('usage_events_p2020_02');
    expect(await placement(t.db, account)).toEqual({
      'dec-old': 'usage_events_p2019_12',
      'jan-in': 'usage_events_p2020_01',
      'nov-late': 'usage_events_p2019_11',
    });
    // Running again changes nothing; the parents' statistics are refreshed after a creation and once a day.
    expect(await runJob(t.db, 'maintain-usage-partitions', jan31)).toEqual({ created: 0, busy: 0, analyzed: 0 });
    expect(await runJob(t.db, 'maintain-usage-partitions', new Date('2020-01-31T04:11:00Z'))).toEqual({ created: 0, busy: 0, analyzed: 1 });
    const stats = await sql<{ n: number }>`
      select count(*)::int as n from pg_stats where tablename in ('usage_events', 'usage_daily', 'usage_daily_users') and inherited and attname = 'account_id'`.execute(t.db);
    expect(stats.rows[0]!.n).toBe(1); // usage_events has rows; the rollups none yet
  });

  it('an event at Feb 1 00:00:30 lands in February’s partition; a re-send with the same time is stored once', async () => {
    const event = { eventId: 'feb-first', account: 'boundary-co', occurredAt: '2020-02-01T00:00:30Z', metric: 'login', userId: 'ann' };
    expect((await ingestBatch(t.db, SIGNALS.usage, [event])).summary).toMatchObject({ created: 1, error: 0 });
    expect((await ingestBatch(t.db, SIGNALS.usage, [{ ...event, quantity: 9 }])).summary).toMatchObject({ unchanged: 1, created: 0 });
    expect((await placement(t.db, account))['feb-first']).toBe('usage_events_p2020_02');
    // The same id at another time is another event (the key holds the time: docs/signals.md#idempotency).
    expect((await ingestBatch(t.db, SIGNALS.usage, [{ ...event, occurredAt: '2020-02-01T00:00:31Z' }])).summary).toMatchObject({ created: 1 });
    // The rollups' February partitions are ready too.
    await sql`insert into usage_daily (account_id, day, metric, events, quantity, active_users) values (${account}, '2020-02-01', 'login', 1, 1, 1)`.execute(t.db);
    await sql`insert into usage_daily_users (account_id, day, metric, user_id) values (${account}, '2020-02-01', 'login', 'ann')`.execute(t.db);
    const rollups = await sql<{ daily: string; users: string }>`
      select (select tableoid::regclass::text from usage_daily where account_id = ${account}) as daily,
             (select tableoid::regclass::text from usage_daily_users where account_id = ${account}) as users`.execute(t.db);
    expect(rollups.rows[0]).toEqual({ daily: 'usage_daily_p2020_02', users: 'usage_daily_users_p2020_02' });
  });

  it('retention drops the month that fell out of the window, keeps a month holding late arrivals, and keeps rows inside the window', async () => {
    // 30 days before Feb 1 00:01 is Jan 2 00:01: December has fallen out whole, January has not.
    expect(await runJob(t.db, 'prune-usage-events', feb1, 30)).toEqual({ partitionsDropped: 1, keptForLateEvents: 1, busy: 0, retentionDays: 30 });
    expect(await placement(t.db, account)).toEqual({
      'feb-first': 'usage_events_p2020_02',
      'jan-in': 'usage_events_p2020_01',
      'nov-late': 'usage_events_p2019_11',
    });
    const dec = await sql<{ name: string | null }>`select to_regclass('usage_events_p2019_12')::text as name`.execute(t.db);
    expect(dec.rows[0]!.name).toBeNull();
    // Once the late arrival has been stored 30 days, its month goes too.
    expect(await runJob(t.db, 'prune-usage-events', new Date('2020-02-20T03:23:00Z'), 30)).toEqual({
      partitionsDropped: 1,
      keptForLateEvents: 0,
      busy: 0,
      retentionDays: 30,
    });
    expect(Object.keys(await placement(t.db, account))).toEqual(['feb-first', 'jan-in']);
  });

  it('an old row arriving after maintenance ran is moved out of the default partition and dropped when past retention', async () => {
    await sql`
      insert into usage_events (account_id, event_id, occurred_at, metric, received_at)
      values (${account}, 'very-old', '2018-06-01 00:00:00+00', 'login', '2018-06-01 00:00:00+00')`.execute(t.db);
    expect((await placement(t.db, account))['very-old']).toBe('usage_events_default');
    expect(await runJob(t.db, 'prune-usage-events', feb1, 30)).toMatchObject({ partitionsDropped: 1, busy: 0 });
    expect(Object.keys(await placement(t.db, account))).toEqual(['feb-first', 'jan-in']);
    const defaults = await sql<{ n: number }>`select count(*)::int as n from usage_events_default`.execute(t.db);
    expect(defaults.rows[0]!.n).toBe(0);
  });
});
