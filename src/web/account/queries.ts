import { type Kysely, sql } from 'kysely';
import type { Database } from '../../db/schema.js';

type Db = Kysely<Database>;

/** When each source last brought data for an account. */
export async function freshness(db: Db, accountId: number) {
  const { rows } = await sql<{ usage: string | null; tickets: Date | null; nps: Date | null; csat: Date | null; contracts: Date | null }>`
    select (select max(day)::text from usage_daily where account_id = ${accountId}) as usage,
           (select max(source_updated_at) from tickets where account_id = ${accountId}) as tickets,
           (select max(responded_at) from survey_responses where account_id = ${accountId} and kind = 'nps') as nps,
           (select max(responded_at) from survey_responses where account_id = ${accountId} and kind = 'csat') as csat,
           (select max(updated_at) from contracts where account_id = ${accountId}) as contracts`.execute(db);
  return rows[0]!;
}

export type TimelineItem =
  | { kind: 'ticket'; at: Date; title: string; detail: string }
  | { kind: 'survey'; at: Date; title: string; detail: string }
  | { kind: 'contract'; at: Date; title: string; detail: string };

/** Recent tickets, survey answers and contracts, newest first. */
export async function timeline(db: Db, accountId: number, limit = 25): Promise<TimelineItem[]> {
  const [tickets, surveys, contracts] = await Promise.all([
    db
      .selectFrom('tickets')
      .select(['ticket_id', 'subject', 'status', 'priority', 'opened_at', 'solved_at', 'escalated', 'sla_breached'])
      .where('account_id', '=', accountId)
      .orderBy('opened_at', 'desc')
      .limit(limit)
      .execute(),
    db.selectFrom('survey_responses').select(['kind', 'score', 'comment', 'responded_at']).where('account_id', '=', accountId).orderBy('responded_at', 'desc').limit(limit).execute(),
    db
      .selectFrom('contracts')
      .select(['contract_id', 'start_date', 'end_date', 'arr', 'currency', 'status', 'auto_renew', 'payment_status', 'updated_at'])
      .where('account_id', '=', accountId)
      .orderBy('end_date', 'desc')
      .limit(10)
      .execute(),
  ]);
  const items: TimelineItem[] = [
    ...tickets.map((t) => ({
      kind: 'ticket' as const,
      at: t.opened_at,
      title: t.subject ?? t.ticket_id,
      detail: [t.priority, t.status, t.escalated ? 'escalated' : '', t.sla_breached ? 'SLA breached' : ''].filter(Boolean).join(' · '),
    })),
    ...surveys.map((s) => ({ kind: 'survey' as const, at: s.responded_at, title: `${s.kind.toUpperCase()} ${s.score}`, detail: s.comment ?? '' })),
    ...contracts.map((k) => ({
      kind: 'contract' as const,
      at: new Date(`${k.start_date}T00:00:00Z`),
      title: `${k.contract_id}: ${k.start_date} → ${k.end_date}`,
      detail: [k.status, k.auto_renew ? 'auto-renew' : 'manual renewal', k.payment_status, `${k.arr} ${k.currency ?? ''}`].join(' · '),
    })),
  ];
  return items.sort((a, b) => b.at.getTime() - a.at.getTime()).slice(0, limit);
}

/** Usage per metric: events and active users over the last 30 days against the 30 before. */
export async function usageByMetric(db: Db, accountId: number) {
  const { rows } = await sql<{ metric: string; recent: number; previous: number; users: number }>`
    select metric,
           coalesce(sum(events) filter (where day >= current_date - 30), 0)::float8 as recent,
           coalesce(sum(events) filter (where day < current_date - 30), 0)::float8 as previous,
           coalesce(max(active_users) filter (where day >= current_date - 30), 0)::int as users
      from usage_daily
     where account_id = ${accountId} and day >= current_date - 60
     group by metric
     order by recent desc
     limit 20`.execute(db);
  return rows;
}
