import { type Kysely, sql } from 'kysely';
import type { Database } from '../db/schema.js';
import { encodeKeyset } from '../http/cursor.js';
import type { WriteOutcome } from '../signals/schemas.js';
import { CHURN_KINDS, type OutcomeItem, type OutcomeKind } from './schemas.js';

type Db = Kysely<Database>;

/** Upserts imported outcomes; a re-sent one with the same content is `unchanged`. */
export async function writeOutcomes(db: Db, rows: { accountId: number; item: OutcomeItem }[]): Promise<WriteOutcome[]> {
  const col = <T>(pick: (o: OutcomeItem) => T) => rows.map((r) => pick(r.item));
  const { rows: written } = await sql<{ account_id: number; outcome_key: string; inserted: boolean }>`
    insert into outcomes (account_id, outcome_key, kind, occurred_on, contract_id, arr, source)
    select account_id, outcome_key, kind, occurred_on::date, contract_id, arr, 'import'
      from unnest(${rows.map((r) => r.accountId)}::int8[], ${col((o) => o.outcomeId)}::text[], ${col((o) => o.kind)}::text[],
                  ${col((o) => o.occurredOn)}::text[], ${col((o) => o.contractId ?? null)}::text[], ${col((o) => o.arr ?? null)}::numeric[])
        as t (account_id, outcome_key, kind, occurred_on, contract_id, arr)
     order by account_id, outcome_key
    on conflict (account_id, outcome_key) do update set
      kind = excluded.kind, occurred_on = excluded.occurred_on, contract_id = excluded.contract_id, arr = excluded.arr, recorded_at = now()
    where outcomes.source = 'import'
      and (outcomes.kind, outcomes.occurred_on, outcomes.contract_id, outcomes.arr)
          is distinct from (excluded.kind, excluded.occurred_on, excluded.contract_id, excluded.arr)
    returning account_id, outcome_key, (xmax = 0) as inserted`.execute(db);
  const outcome = new Map(written.map((w) => [`${w.account_id}:${w.outcome_key}`, w.inserted ? 'created' : 'updated'] as const));
  return rows.map((r) => outcome.get(`${r.accountId}:${r.item.outcomeId}`) ?? 'unchanged');
}

export interface OutcomeFilter {
  from?: string;
  to?: string;
  kind?: OutcomeKind;
  after?: [string, number, string];
  limit: number;
}

/** Outcomes in date order (keyset pages). */
export async function listOutcomes(db: Db, filter: OutcomeFilter) {
  let query = db
    .selectFrom('outcomes as o')
    .innerJoin('accounts as a', 'a.id', 'o.account_id')
    .select(['a.external_id', 'o.account_id', 'o.outcome_key', 'o.kind', 'o.occurred_on', 'o.contract_id', 'o.arr', 'o.source', 'o.recorded_at']);
  if (filter.from) query = query.where('o.occurred_on', '>=', filter.from);
  if (filter.to) query = query.where('o.occurred_on', '<=', filter.to);
  if (filter.kind) query = query.where('o.kind', '=', filter.kind);
  if (filter.after) {
    const [day, id, key] = filter.after;
    query = query.where(sql<boolean>`(o.occurred_on, o.account_id, o.outcome_key) > (${day}::date, ${id}::int8, ${key}::text)`);
  }
  const rows = await query.orderBy('o.occurred_on').orderBy('o.account_id').orderBy('o.outcome_key').limit(filter.limit + 1).execute();
  const page = rows.slice(0, filter.limit);
  const last = page.at(-1);
  return {
    items: page.map((r) => ({
      account: r.external_id,
      outcomeKey: r.outcome_key,
      kind: r.kind as OutcomeKind,
      churned: (CHURN_KINDS as string[]).includes(r.kind),
      occurredOn: r.occurred_on,
      contractId: r.contract_id,
      arr: r.arr === null ? null : Number(r.arr),
      source: r.source as 'contract' | 'lifecycle' | 'import',
      recordedAt: r.recorded_at.toISOString(),
    })),
    nextCursor: last && rows.length > filter.limit ? encodeKeyset([last.occurred_on, last.account_id, last.outcome_key]) : null,
    hasMore: rows.length > filter.limit,
  };
}
