import { type Kysely, sql } from 'kysely';
import type { Database } from '../db/schema.js';
import { sqlState } from '../db/errors.js';
import { monthExpired, monthsToPrepare, partitionMonth, retentionCutoff } from './partition-months.js';

type Db = Kysely<Database>;

/** The tables partitioned by month (sql/0030). Retention drops partitions of usage_events only; rollups are kept. */
export const USAGE_PARTITIONED_TABLES = ['usage_events', 'usage_daily', 'usage_daily_users'] as const;
export type UsagePartitionedTable = (typeof USAGE_PARTITIONED_TABLES)[number];

/** Months prepared after the current one, so a month's partition exists well before its first event. */
export const MONTHS_AHEAD = 3;

/**
 * How long a partition step waits for its table lock. Creating or dropping a
 * partition waits for running statements on the table, and every statement
 * arriving after it waits behind it: a short wait, then the step is left for
 * the next run, never a stalled ingest.
 */
const LOCK_TIMEOUT = '3s';

/**
 * Creates the month's partition when missing and moves that month's rows out of
 * the default partition into it (sql/0030 usage_month_partition). Needs the
 * caller's transaction: the locks it takes are held until commit.
 */
export async function createUsagePartition(trx: Db, table: UsagePartitionedTable, month: string): Promise<string | null> {
  await sql`set local lock_timeout = ${sql.lit(LOCK_TIMEOUT)}`.execute(trx);
  const { rows } = await sql<{ created: string | null }>`select usage_month_partition(${table}, ${month}::date) as created`.execute(trx);
  return rows[0]?.created ?? null;
}

/** Months (UTC) that have rows in the table's default partition: back-dated or early rows maintenance has not moved yet. */
export async function defaultPartitionMonths(db: Db, table: UsagePartitionedTable): Promise<string[]> {
  const key = table === 'usage_events' ? sql`(occurred_at at time zone 'UTC')` : sql.ref('day');
  const { rows } = await sql<{ month: string }>`
    select distinct to_char(date_trunc('month', ${key}), 'YYYY-MM-DD') as month
      from ${sql.table(`${table}_default`)} order by 1`.execute(db);
  return rows.map((r) => r.month);
}

/** The table's monthly partitions, oldest first (the default partition is not listed). */
export async function listUsagePartitions(db: Db, table: UsagePartitionedTable): Promise<{ name: string; month: string }[]> {
  const { rows } = await sql<{ name: string }>`
    select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid
     where i.inhparent = ${table}::regclass`.execute(db);
  return rows
    .map((r) => ({ name: r.name, month: partitionMonth(table, r.name) }))
    .filter((p): p is { name: string; month: string } => p.month !== null)
    .sort((a, b) => a.month.localeCompare(b.month));
}

/** Whether a usage_events partition holds a row received at or after `since` (indexed). */
export async function receivedSince(db: Db, partition: string, since: Date): Promise<boolean> {
  const { rows } = await sql`select 1 from ${sql.table(partition)} where received_at >= ${since} limit 1`.execute(db);
  return rows.length > 0;
}

/** Drops a partition and its rows. Needs the caller's transaction (lock timeout, see LOCK_TIMEOUT). */
export async function dropUsagePartition(trx: Db, partition: string): Promise<void> {
  await sql`set local lock_timeout = ${sql.lit(LOCK_TIMEOUT)}`.execute(trx);
  await sql`drop table ${sql.table(partition)}`.execute(trx);
}

/**
 * Refreshes the statistics of the partitioned parents. Autovacuum analyzes
 * each partition but never a parent, and the planner reads the parent's
 * statistics to estimate joins over the whole table (the scoring queries join
 * usage_daily by account). Needs the caller's transaction (lock timeout).
 */
export async function analyzeUsageTables(trx: Db): Promise<void> {
  await sql`set local lock_timeout = ${sql.lit(LOCK_TIMEOUT)}`.execute(trx);
  await sql`analyze usage_events, usage_daily, usage_daily_users`.execute(trx);
}

/** The hour (UTC) of the daily statistics refresh in the hourly maintenance. */
export const ANALYZE_HOUR_UTC = 4;

const lockNotAvailable = (err: unknown) => sqlState(err) === '55P03';

/**
 * The hourly maintenance: every partitioned usage table gets its partitions for
 * this month and the next MONTHS_AHEAD, and any month with rows in the default
 * partition gets its own partition with those rows moved in. One short
 * transaction per partition; one that cannot get its lock in time is counted
 * as `busy` and left for the next run. The parents' statistics are refreshed
 * once a day (the run of ANALYZE_HOUR_UTC) and after a partition was created.
 */
export async function maintainUsagePartitions(db: Db, now: Date): Promise<{ created: number; busy: number; analyzed: number }> {
  let created = 0;
  let busy = 0;
  let analyzed = 0;
  for (const table of USAGE_PARTITIONED_TABLES) {
    const months = new Set([...monthsToPrepare(now, MONTHS_AHEAD), ...(await defaultPartitionMonths(db, table))]);
    for (const month of months) {
      try {
        if (await db.transaction().execute((trx) => createUsagePartition(trx, table, month))) created++;
      } catch (err) {
        if (!lockNotAvailable(err)) throw err;
        busy++;
      }
    }
  }
  if (created > 0 || now.getUTCHours() === ANALYZE_HOUR_UTC) {
    try {
      await db.transaction().execute(analyzeUsageTables);
      analyzed = 1;
    } catch (err) {
      if (!lockNotAvailable(err)) throw err;
      busy++;
    }
  }
  return { created, busy, analyzed };
}

/**
 * Retention of raw usage events: drops each monthly partition of usage_events
 * whose whole month is older than `retentionDays` before `now`, unless it holds
 * an event received within the window (a late import is kept until it has been
 * stored that long; the partition goes on a later run). Old rows still in the
 * default partition are first moved to their month's partition so they are
 * dropped the same way. The rollups are never touched.
 */
export async function dropExpiredUsagePartitions(
  db: Db,
  now: Date,
  retentionDays: number,
): Promise<{ partitionsDropped: number; keptForLateEvents: number; busy: number }> {
  const counts = { partitionsDropped: 0, keptForLateEvents: 0, busy: 0 };
  const guarded = async (step: (trx: Db) => Promise<unknown>) => {
    try {
      await db.transaction().execute(step);
      return true;
    } catch (err) {
      if (!lockNotAvailable(err)) throw err;
      counts.busy++;
      return false;
    }
  };
  for (const month of await defaultPartitionMonths(db, 'usage_events')) {
    if (monthExpired(month, now, retentionDays)) await guarded((trx) => createUsagePartition(trx, 'usage_events', month));
  }
  const cutoff = retentionCutoff(now, retentionDays);
  for (const { name, month } of await listUsagePartitions(db, 'usage_events')) {
    if (!monthExpired(month, now, retentionDays)) break;
    if (await receivedSince(db, name, cutoff)) counts.keptForLateEvents++;
    else if (await guarded((trx) => dropUsagePartition(trx, name))) counts.partitionsDropped++;
  }
  return counts;
}
