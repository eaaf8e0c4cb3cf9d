import { type Kysely, sql } from 'kysely';
import type { Database } from '../db/schema.js';
import type { Scope } from './conditions.js';

type Db = Kysely<Database>;

/**
 * Accounts in scope whose import has not settled (sql/0065 account_imports):
 * their alerts wait. An import settles `settleMinutes` after its last
 * back-dated signal (recorded here, at the first evaluation after that), or
 * when src/signals/imports.ts settleImports says it has ended.
 */
export async function unsettledAccounts(db: Db, scope: Scope, settleMinutes: number): Promise<number[]> {
  await sql`
    update account_imports set settled_at = now()
     where settled_at is null and last_history_at <= now() - make_interval(secs => ${settleMinutes * 60}::float8)
       and (${scope}::int8[] is null or account_id = any(${scope}::int8[]))`.execute(db);
  const { rows } = await sql<{ account_id: number }>`
    select account_id from account_imports
     where settled_at is null and (${scope}::int8[] is null or account_id = any(${scope}::int8[]))
     order by account_id`.execute(db);
  return rows.map((r) => Number(r.account_id));
}
