import { CompiledQuery, type Kysely, sql, type Transaction } from 'kysely';
import type { Database } from '../db/schema.js';
import { CHURN_KINDS } from '../outcomes/schemas.js';
import { loadFeatures } from '../scoring/recompute.js';

type Db = Kysely<Database>;
/** A function taking it runs inside its caller's transaction. */
type Trx = Transaction<Database>;

export interface ObservationOptions {
  /** Score each account this many days before its outcome (default 90). */
  horizonDays: number;
  /** Only outcomes on or after / on or before these days. */
  from?: string;
  to?: string;
}

/**
 * The observations a score is judged on: one per renewal outcome (a lifecycle
 * churn only where the account has no contract or imported churn), each to be
 * scored as of midnight UTC `horizonDays` before its outcome date. Fills temp
 * table hs_targets (target_id, account_id, as_of, churned, arr, occurred_on)
 * and then hs_features for them, in the caller's transaction. Returns how many.
 */
export async function loadObservations(trx: Trx, options: ObservationOptions): Promise<number> {
  await sql`create temp table if not exists hs_targets (target_id int8 primary key, account_id int8 not null, as_of timestamptz not null,
              churned boolean not null, arr float8, occurred_on date not null) on commit drop`.execute(trx);
  await sql`truncate hs_targets`.execute(trx);
  await trx.executeQuery(
    CompiledQuery.raw(
      `insert into hs_targets (target_id, account_id, as_of, churned, arr, occurred_on)
       select row_number() over (order by o.occurred_on, o.account_id, o.outcome_key), o.account_id,
              ((o.occurred_on - $1::int)::timestamp at time zone 'UTC'), o.kind = any($2::text[]),
              coalesce(o.arr, a.arr)::float8, o.occurred_on
         from outcomes o join accounts a on a.id = o.account_id
        where ($3::date is null or o.occurred_on >= $3::date) and ($4::date is null or o.occurred_on <= $4::date)
          and not (o.source = 'lifecycle' and exists (
                select 1 from outcomes c where c.account_id = o.account_id and c.source <> 'lifecycle' and c.kind = any($2::text[])))`,
      [options.horizonDays, CHURN_KINDS, options.from ?? null, options.to ?? null],
    ),
  );
  const { rows } = await sql<{ n: number; lo: Date | null; hi: Date | null }>`
    select count(*)::int as n, min(as_of) as lo, max(as_of) as hi from hs_targets`.execute(trx);
  const { n, lo, hi } = rows[0]!;
  if (n === 0 || !lo || !hi) return 0;
  await sql`analyze hs_targets`.execute(trx);
  await loadFeatures(trx, { table: 'hs_targets', from: lo, to: hi, partialDay: 'none' });
  return n;
}
