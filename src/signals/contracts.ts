import { type Kysely, sql } from 'kysely';
import { boolArray } from '../db/params.js';
import type { Database } from '../db/schema.js';
import type { SignalWriter, WriteOutcome } from './schemas.js';
import type { Contract } from './schemas.js';

/**
 * Upserts contracts. Each change of status, value, seats, renewal date or
 * payment standing is also appended to contract_history by a trigger.
 */
export const writeContracts: SignalWriter<Contract> = async (db: Kysely<Database>, rows) => {
  const col = <T>(pick: (c: Contract) => T) => rows.map((r) => pick(r.item));
  const { rows: written } = await sql<{ account_id: number; contract_id: string; inserted: boolean }>`
    insert into contracts (account_id, contract_id, start_date, end_date, arr, currency, seats, auto_renew, status, payment_status,
                           source_updated_at)
    select account_id, contract_id, start_date::date, end_date::date, arr, currency, seats, auto_renew, status, payment_status,
           source_updated_at::timestamptz
      from unnest(
        ${rows.map((r) => r.accountId)}::int8[], ${col((c) => c.contractId)}::text[], ${col((c) => c.startDate)}::text[],
        ${col((c) => c.endDate)}::text[], ${col((c) => c.arr)}::numeric[], ${col((c) => c.currency ?? null)}::text[],
        ${col((c) => c.seats ?? null)}::int4[], ${boolArray(col((c) => c.autoRenew))}::text[]::bool[], ${col((c) => c.status)}::text[],
        ${col((c) => c.paymentStatus)}::text[], ${col((c) => c.updatedAt ?? null)}::text[]
      ) as t (account_id, contract_id, start_date, end_date, arr, currency, seats, auto_renew, status, payment_status, source_updated_at)
    on conflict (account_id, contract_id) do update set
      start_date = excluded.start_date, end_date = excluded.end_date, arr = excluded.arr, currency = excluded.currency,
      seats = excluded.seats, auto_renew = excluded.auto_renew, status = excluded.status,
      payment_status = excluded.payment_status, source_updated_at = excluded.source_updated_at, updated_at = now()
    where (contracts.start_date, contracts.end_date, contracts.arr, contracts.currency, contracts.seats,
           contracts.auto_renew, contracts.status, contracts.payment_status)
          is distinct from (excluded.start_date, excluded.end_date, excluded.arr, excluded.currency, excluded.seats,
           excluded.auto_renew, excluded.status, excluded.payment_status)
    returning account_id, contract_id, (xmax = 0) as inserted`.execute(db);
  const outcome = new Map<string, WriteOutcome>(written.map((w) => [`${w.account_id}:${w.contract_id}`, w.inserted ? 'created' : 'updated'] as const));
  return rows.map((r) => outcome.get(`${r.accountId}:${r.item.contractId}`) ?? 'unchanged');
};
