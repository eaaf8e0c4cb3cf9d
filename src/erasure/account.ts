import { type Kysely, sql } from 'kysely';
import { recordAudit } from '../audit/repository.js';
import type { Database } from '../db/schema.js';
import type { AuditScope } from '../http/env.js';
import { enqueueEvent } from '../outbox/index.js';
import { accountPlan, ident } from './catalogue.js';

type Db = Kysely<Database>;

const forAccount = (where: string, id: number) => {
  if (!Number.isSafeInteger(id)) throw new TypeError('account id must be an integer');
  return sql.raw(where.replaceAll('$1', String(id)));
};

/** Everything stored about one account, table by table (GET /v1/accounts/{externalId}/export). */
export async function exportAccount(db: Db, externalId: string): Promise<Record<string, unknown[]> | undefined> {
  const account = await db.selectFrom('accounts').select('id').where('external_id', '=', externalId).executeTakeFirst();
  if (!account) return undefined;
  const plan = await accountPlan(db);
  const tables: Record<string, unknown[]> = {};
  for (const { table, where } of [...plan.tables].reverse()) {
    const { rows } = await sql<Record<string, unknown>>`select * from ${sql.raw(ident(table))} where ${forAccount(where, account.id)}`.execute(db);
    tables[table] = rows;
  }
  // Stored API responses that quote the account (Idempotency-Key replays of the last day).
  const quoted = `%${JSON.stringify(externalId)}%`;
  tables.idempotency_keys = (await db.selectFrom('idempotency_keys').selectAll().where('response_body', 'like', quoted).execute()) as unknown[];
  return tables;
}

/**
 * Erases one account in the caller's transaction: every row that names it
 * in any table (found in the catalogue, see catalogue.ts), including the
 * payloads of outgoing events about it and stored API responses that quote
 * it. Leaves an audit entry with the internal id and per-table counts (no
 * name, no external id) and an `account.erased` event for subscribers.
 */
export async function eraseAccount(trx: Db, externalId: string, scope?: AuditScope): Promise<{ deleted: Record<string, number> } | undefined> {
  const account = await trx.selectFrom('accounts').select('id').where('external_id', '=', externalId).forUpdate().executeTakeFirst();
  if (!account) return undefined;
  const plan = await accountPlan(trx);
  const deleted: Record<string, number> = {};
  for (const { table, where } of plan.tables) {
    const result = await sql`delete from ${sql.raw(ident(table))} where ${forAccount(where, account.id)}`.execute(trx);
    const n = Number(result.numAffectedRows ?? 0);
    if (n > 0) deleted[table] = n;
  }
  const quoted = `%${JSON.stringify(externalId)}%`;
  const replays = await trx.deleteFrom('idempotency_keys').where('response_body', 'like', quoted).executeTakeFirst();
  if (Number(replays.numDeletedRows) > 0) deleted.idempotency_keys = Number(replays.numDeletedRows);
  await recordAudit(trx, { action: 'account.erased', targetType: 'account', targetId: String(account.id), after: { deleted } }, scope);
  // No subject_account_id: the notice must not count as a row of the erased account.
  await enqueueEvent(trx, { type: 'account.erased', payload: { externalId, erasedAt: new Date().toISOString() } });
  return { deleted };
}
