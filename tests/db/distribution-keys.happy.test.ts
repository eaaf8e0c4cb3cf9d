import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/db.js';

/**
 * The schema stays distributable with Citus (docs/scaling.md#sharding-with-citus):
 * per-account tables are distributed on account_id and co-located with
 * accounts (distributed on id), so every key they have must lead with the
 * account and every foreign key between them must carry it. Everything else
 * is named here, with its reason. Reads the catalog of the migrated database.
 */

/** Distributed tables whose distribution column is not called account_id. */
const DISTRIBUTED_BY: Record<string, string> = { accounts: 'id' };

/** Small, read with per-account rows in the same query: copied to every node (create_reference_table). */
const REFERENCE: Record<string, string> = {
  scorecards: 'a few versions per segment; health_scores and snapshots reference them',
  feature_distributions: 'segment percentiles every scoring run reads beside account rows',
  feature_information: 'one row per measure and day, read by every scoring run',
  source_days: 'which sources were connected on which day; read by the features query',
  alert_rule_sets: 'a few versions of the rules, read by every evaluation',
  retention_pool: 'the retention specialists alerts are assigned to; a handful of rows',
  follow_up_playbooks: 'a few versions per playbook, read when planning every account',
  team_members: 'the people accounts are owned by; joined to follow-ups and alerts',
  change_clocks: 'one row per change feed',
  history_instants: 'one row per past instant the history holds, read beside per-account snapshots by as-of reads',
};

/** Never joined with per-account rows: stay on the coordinator (Citus local tables). */
const LOCAL: Record<string, string> = {
  api_keys: 'credentials, looked up by hash',
  idempotency_keys: 'stored responses per API key',
  bootstrap: 'a single row: whether the first admin key was made',
  job_runs: 'job claims need one unique (job_name, scheduled_for) across the cluster',
  kysely_migration: 'the migrator’s own bookkeeping',
  kysely_migration_lock: 'the migrator’s own bookkeeping',
  webhook_subscriptions: 'outgoing webhook configuration',
  webhook_events: 'the outbox: claimed with FOR UPDATE SKIP LOCKED by the delivery workers',
  webhook_deliveries: 'the outbox’s deliveries, claimed like its events',
  webhook_delivery_attempts: 'the delivery log',
  webhook_sources: 'inbound webhook configuration',
  webhook_source_secrets: 'inbound webhook secrets',
  inbound_webhook_messages: 'webhook-id dedupe per source',
  notification_channels: 'notification configuration',
  notification_routes: 'notification configuration',
  notification_preferences: 'per team member settings',
  notification_digests: 'one row per person and local date: the digest sent-once key',
  people: 'web app users',
  web_sessions: 'web app sessions',
  sign_in_failures: 'sign-in throttling',
  scorecard_reports: 'backtest reports of a scorecard',
  fit_proposals: 'a few fit proposals a week, read by the analysts',
};

/** Per-account rows without an account_id column yet: the tables are not distributable until they gain one. */
const WITHOUT_ACCOUNT: Record<string, string> = {
  alert_events: 'an alert’s history, keyed by alert id; needs account_id to be co-located with alerts',
};

/**
 * Rules the schema breaks today, each with its reason and the change a Citus
 * install makes (docs/scaling.md#what-is-not-supported). A fix removes its entry.
 */
const EXCEPTIONS: Record<string, string> = {
  'accounts: unique (external_id)':
    'the CRM id must be unique across shards: a Citus install moves it to a lookup table distributed by external_id',
  'alerts: unique (id)': 'the public alert id (a sequence) is unique on its own; alert_events references it',
  'follow_ups: unique (id)': 'the public follow-up id (a sequence) is unique on its own; API paths and calendar UIDs use it',
  'alert_events -> alerts: (alert_id)': 'see WITHOUT_ACCOUNT: the history references its alert by id alone',
};

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(() => t.close());

interface Table {
  name: string;
  perAccount: boolean;
}

const tables = async (): Promise<Table[]> => {
  const { rows } = await sql<{ name: string; per_account: boolean }>`
    select c.relname as name,
           exists (select 1 from information_schema.columns col
                    where col.table_schema = 'public' and col.table_name = c.relname and col.column_name = 'account_id') as per_account
      from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = 'public' and c.relkind in ('r', 'p') and not c.relispartition
     order by 1`.execute(t.db);
  return rows.map((r) => ({ name: r.name, perAccount: r.per_account }));
};

/** Primary keys, unique constraints and unique indexes (partial ones too), with their columns in order. */
const uniqueKeys = async () =>
  (
    await sql<{ table: string; columns: (string | null)[]; primary: boolean }>`
      select c.relname as table, i.indisprimary as primary,
             array(select a.attname from unnest(i.indkey) with ordinality k (attnum, ord)
                     left join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
                    order by k.ord) as columns
        from pg_index i
        join pg_class c on c.oid = i.indrelid
        join pg_namespace n on n.oid = c.relnamespace
       where n.nspname = 'public' and i.indisunique and not c.relispartition
       order by 1, 3`.execute(t.db)
  ).rows;

/** Foreign keys as declared (not their copies on partitions). */
const foreignKeys = async () =>
  (
    await sql<{ from: string; to: string; from_columns: string[]; to_columns: string[] }>`
      select f.relname as from, r.relname as to,
             array(select a.attname from unnest(k.conkey) with ordinality x (attnum, ord)
                     join pg_attribute a on a.attrelid = k.conrelid and a.attnum = x.attnum order by x.ord) as from_columns,
             array(select a.attname from unnest(k.confkey) with ordinality x (attnum, ord)
                     join pg_attribute a on a.attrelid = k.confrelid and a.attnum = x.attnum order by x.ord) as to_columns
        from pg_constraint k
        join pg_class f on f.oid = k.conrelid
        join pg_class r on r.oid = k.confrelid
        join pg_namespace n on n.oid = k.connamespace
       where n.nspname = 'public' and k.contype = 'f' and k.conparentid = 0
       order by 1, 2, 3`.execute(t.db)
  ).rows;

describe('a schema Citus can distribute by account', () => {
  it('every table is per-account (distributed), or listed as a reference or local table with its reason', async () => {
    const unclassified = (await tables())
      .filter((table) => !table.perAccount && !(table.name in DISTRIBUTED_BY) && !(table.name in REFERENCE) && !(table.name in LOCAL) && !(table.name in WITHOUT_ACCOUNT))
      .map((table) => table.name);
    expect(unclassified, 'a new table: give it an account_id, or list it as REFERENCE or LOCAL here (and in docs/scaling.md)').toEqual([]);
    // A listed table that gained an account_id (or was dropped) is taken off the lists.
    const all = new Map((await tables()).map((table) => [table.name, table]));
    const stale = [...Object.keys(REFERENCE), ...Object.keys(LOCAL), ...Object.keys(WITHOUT_ACCOUNT), ...Object.keys(DISTRIBUTED_BY)].filter(
      (name) => !all.has(name) || (all.get(name)!.perAccount && !(name in DISTRIBUTED_BY)),
    );
    expect(stale).toEqual([]);
  });

  it('every primary key and unique constraint or index of a distributed table leads with its distribution column', async () => {
    const distributed = new Map((await tables()).filter((table) => table.perAccount || table.name in DISTRIBUTED_BY).map((table) => [table.name, DISTRIBUTED_BY[table.name] ?? 'account_id']));
    const found: string[] = [];
    for (const key of await uniqueKeys()) {
      const column = distributed.get(key.table);
      if (column && key.columns[0] !== column) found.push(`${key.table}: ${key.primary ? 'primary key' : 'unique'} (${key.columns.join(', ')})`);
    }
    expect(found.filter((rule) => !(rule in EXCEPTIONS))).toEqual([]);
    expect(Object.keys(EXCEPTIONS).filter((rule) => !rule.includes('->') && !found.includes(rule)), 'an exception that no longer applies').toEqual([]);
  });

  it('every foreign key into a distributed table comes from a distributed table and carries the account', async () => {
    const all = await tables();
    const distributed = new Set(all.filter((table) => table.perAccount || table.name in DISTRIBUTED_BY).map((table) => table.name));
    const found: string[] = [];
    for (const fk of await foreignKeys()) {
      if (!distributed.has(fk.to)) continue; // into a reference or local table: Citus allows it
      const accountColumn = DISTRIBUTED_BY[fk.to] ?? 'account_id';
      const carries = fk.from_columns.some((c, i) => c === 'account_id' && fk.to_columns[i] === accountColumn);
      if (!distributed.has(fk.from) || !carries) found.push(`${fk.from} -> ${fk.to}: (${fk.from_columns.join(', ')})`);
    }
    expect(found.filter((rule) => !(rule in EXCEPTIONS))).toEqual([]);
    expect(Object.keys(EXCEPTIONS).filter((rule) => rule.includes('->') && !found.includes(rule)), 'an exception that no longer applies').toEqual([]);
  });
});
