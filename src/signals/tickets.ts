import { type Kysely, sql } from 'kysely';
import { boolArray } from '../db/params.js';
import type { Database } from '../db/schema.js';
import type { SignalWriter, WriteOutcome } from './schemas.js';
import type { Ticket } from './schemas.js';

/**
 * Upserts tickets, keeping whichever version the help desk modified last: an
 * update whose `updatedAt` is older than the stored one is reported `stale`
 * and changes nothing, so out-of-order delivery cannot roll a ticket back.
 */
export const writeTickets: SignalWriter<Ticket> = async (db: Kysely<Database>, rows) => {
  const col = <T>(pick: (t: Ticket) => T) => rows.map((r) => pick(r.item));
  const { rows: written } = await sql<{ account_id: number; ticket_id: string; inserted: boolean }>`
    insert into tickets (account_id, ticket_id, subject, status, priority, kind, opened_at, first_response_at, solved_at,
                         reopen_count, escalated, sla_breached, satisfaction, source_updated_at)
    select account_id, ticket_id, subject, status, priority, kind, opened_at::timestamptz, first_response_at::timestamptz,
           solved_at::timestamptz, reopen_count, escalated, sla_breached, satisfaction, source_updated_at::timestamptz
      from unnest(
        ${rows.map((r) => r.accountId)}::int8[], ${col((t) => t.ticketId)}::text[], ${col((t) => t.subject ?? null)}::text[],
        ${col((t) => t.status)}::text[], ${col((t) => t.priority)}::text[], ${col((t) => t.kind ?? null)}::text[], ${col((t) => t.openedAt)}::text[],
        ${col((t) => t.firstResponseAt ?? null)}::text[], ${col((t) => t.solvedAt ?? null)}::text[],
        ${col((t) => t.reopenCount)}::int4[], ${boolArray(col((t) => t.escalated))}::text[]::bool[], ${boolArray(col((t) => t.slaBreached))}::text[]::bool[],
        ${col((t) => t.satisfaction ?? null)}::text[], ${col((t) => t.updatedAt)}::text[]
      ) as t (account_id, ticket_id, subject, status, priority, kind, opened_at, first_response_at, solved_at,
              reopen_count, escalated, sla_breached, satisfaction, source_updated_at)
    on conflict (account_id, ticket_id) do update set
      subject = excluded.subject, status = excluded.status, priority = excluded.priority, kind = excluded.kind,
      opened_at = excluded.opened_at, first_response_at = excluded.first_response_at, solved_at = excluded.solved_at,
      reopen_count = excluded.reopen_count, escalated = excluded.escalated, sla_breached = excluded.sla_breached,
      satisfaction = excluded.satisfaction, source_updated_at = excluded.source_updated_at, updated_at = now()
    where tickets.source_updated_at < excluded.source_updated_at
    returning account_id, ticket_id, (xmax = 0) as inserted`.execute(db);
  const outcome = new Map<string, WriteOutcome>(written.map((w) => [`${w.account_id}:${w.ticket_id}`, w.inserted ? 'created' : 'updated'] as const));

  // Not written: the stored version is as new (unchanged) or newer (stale).
  const skipped = rows.filter((r) => !outcome.has(`${r.accountId}:${r.item.ticketId}`));
  const stored = new Map<string, number>();
  if (skipped.length > 0) {
    const { rows: current } = await sql<{ account_id: number; ticket_id: string; version: Date }>`
      select account_id, ticket_id, source_updated_at as version from tickets
       where (account_id, ticket_id) in (
         select * from unnest(${skipped.map((r) => r.accountId)}::int8[], ${skipped.map((r) => r.item.ticketId)}::text[]))`.execute(db);
    for (const c of current) stored.set(`${c.account_id}:${c.ticket_id}`, c.version.getTime());
  }
  return rows.map((r) => {
    const key = `${r.accountId}:${r.item.ticketId}`;
    return outcome.get(key) ?? ((stored.get(key) ?? 0) > Date.parse(r.item.updatedAt) ? 'stale' : 'unchanged');
  });
};
