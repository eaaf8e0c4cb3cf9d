import { type RawBuilder, sql } from 'kysely';
import type { Playbook, Trigger } from './playbooks.js';
import type { CauseType } from '../db/tables/follow-ups.js';

/**
 * Candidate selection: one set-based statement per playbook over all
 * accounts, returning the causes that have no follow-up of that playbook yet
 * (a probe of the primary key follow_ups_anchor_key), one keyset page at a time.
 */
export interface CandidateRow {
  account_id: number;
  external_id: string;
  account_name: string;
  account_tz: string | null;
  anchor: string;
  cause_type: CauseType;
  cause_ref: string;
  /** The instant the due time counts from; or */
  basis_at: Date | null;
  /** the local date (YYYY-MM-DD, in the assignee's calendar) whose midnight it counts from. */
  basis_date: string | null;
  detail: string;
  assignee: string | null;
  /* the assignee's team_members row, when there is one */
  member_tz: string | null;
  work_start: number | null;
  work_end: number | null;
  working_days: number[] | null;
  daily_capacity: number | null;
}

export interface CandidatePage {
  now: Date;
  after: { accountId: number; anchor: string } | null;
  limit: number;
}

/** The assignee: the first non-blank of the playbook's sources, lower-cased. */
function assigneeExpression(sources: readonly string[], hasAlert: boolean): RawBuilder<string | null> {
  const columns = sources.flatMap((source) => {
    if (source === 'owner') return [sql`a.owner`];
    if (source === 'retention_owner') return [sql`a.retention_owner`];
    if (source === 'alert_assignee' && hasAlert) return [sql`al.assignee`];
    return [];
  });
  if (columns.length === 0) return sql<null>`null::text`;
  return sql<string | null>`coalesce(${sql.join(columns.map((c) => sql`nullif(lower(btrim(${c})), '')`))})`;
}

const utcDay = (now: Date) => now.toISOString().slice(0, 10);

/** `2026-11` or `2026-Q4`, and the period's first day, both UTC. */
export function periodOf(now: Date, every: 'month' | 'quarter'): { period: string; firstDay: string } {
  const year = now.getUTCFullYear();
  const month = now.getUTCMonth();
  if (every === 'month') {
    const mm = String(month + 1).padStart(2, '0');
    return { period: `${year}-${mm}`, firstDay: `${year}-${mm}-01` };
  }
  const quarter = Math.floor(month / 3);
  return { period: `${year}-Q${quarter + 1}`, firstDay: `${year}-${String(quarter * 3 + 1).padStart(2, '0')}-01` };
}

/** The causes of one trigger: account, anchor, cause link, basis and reason detail. */
function causes(trigger: Trigger, assignee: readonly string[], now: Date): RawBuilder<unknown> {
  const who = assigneeExpression(assignee, trigger.type === 'churn_alert');
  const cutoff = (days: number) => sql`${now}::timestamptz - ${days}::int * interval '1 day'`;
  switch (trigger.type) {
    case 'nps_detractor':
      return sql`
        select r.account_id, 'survey:' || r.response_id as anchor, 'survey' as cause_type, r.response_id as cause_ref,
               r.responded_at as basis_at, null::text as basis_date,
               format('NPS %s on %s', r.score, to_char(r.responded_at at time zone 'UTC', 'YYYY-MM-DD'))
                 || coalesce(': "' || left(nullif(btrim(r.comment), ''), 300) || '"', '') as detail,
               ${who} as assignee, a.external_id, a.name as account_name, a.timezone as account_tz
          from survey_responses r
          join accounts a on a.id = r.account_id
         where r.kind = 'nps' and r.score <= ${trigger.maxScore}::int
           and r.responded_at > ${cutoff(trigger.lookbackDays)} and r.responded_at <= ${now}::timestamptz
           and a.archived_at is null`;
    case 'escalated_ticket_solved':
      return sql`
        select t.account_id, 'ticket:' || t.ticket_id as anchor, 'ticket' as cause_type, t.ticket_id as cause_ref,
               t.solved_at as basis_at, null::text as basis_date,
               format('Escalated ticket %s solved on %s', t.ticket_id, to_char(t.solved_at at time zone 'UTC', 'YYYY-MM-DD'))
                 || coalesce(': ' || left(nullif(btrim(t.subject), ''), 200), '') as detail,
               ${who} as assignee, a.external_id, a.name as account_name, a.timezone as account_tz
          from tickets t
          join accounts a on a.id = t.account_id
         where t.escalated and t.status in ('solved', 'closed') and t.solved_at is not null
           and t.solved_at > ${cutoff(trigger.lookbackDays)} and t.solved_at <= ${now}::timestamptz
           and a.archived_at is null`;
    case 'band_red':
      // health_scores (one row per account) finds the accounts that are red
      // and changed band recently; the snapshot of that change is the cause.
      return sql`
        select h.account_id, 'band_change:' || s.stamp as anchor, 'band_change' as cause_type, s.stamp as cause_ref,
               s.taken_at as basis_at, null::text as basis_date,
               format('Health turned red on %s (was %s%s)', to_char(s.taken_at at time zone 'UTC', 'YYYY-MM-DD'),
                      coalesce(s.previous_band, 'unscored'), coalesce(', score ' || round(s.score::numeric)::text, '')) as detail,
               ${who} as assignee, a.external_id, a.name as account_name, a.timezone as account_tz
          from health_scores h
          join accounts a on a.id = h.account_id
          cross join lateral (
            select hs.taken_at, hs.previous_band, hs.score,
                   to_char(hs.taken_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as stamp
              from health_snapshots hs
             where hs.account_id = h.account_id and hs.reason = 'band_change' and hs.band = 'red'
               and hs.taken_at > ${cutoff(trigger.lookbackDays)} and hs.taken_at <= ${now}::timestamptz
             order by hs.taken_at desc
             limit 1) s
         where h.band = 'red' and h.band_changed_at > ${cutoff(trigger.lookbackDays)}
           and a.archived_at is null`;
    case 'renewal':
      return sql`
        select c.account_id, 'contract:' || c.contract_id || ':' || d.days as anchor, 'contract' as cause_type, c.contract_id as cause_ref,
               null::timestamptz as basis_at, to_char(c.end_date - d.days, 'YYYY-MM-DD') as basis_date,
               format('Contract %s ends on %s: %s days to renewal', c.contract_id, to_char(c.end_date, 'YYYY-MM-DD'), d.days) as detail,
               ${who} as assignee, a.external_id, a.name as account_name, a.timezone as account_tz
          from contracts c
          join accounts a on a.id = c.account_id
          cross join unnest(${`{${trigger.daysBefore.join(',')}}`}::int[]) as d(days)
         where c.status = 'active'
           and c.end_date > ${utcDay(now)}::date
           and c.end_date - d.days <= ${utcDay(now)}::date
           and c.end_date - d.days > ${utcDay(now)}::date - ${trigger.windowDays}::int
           and a.archived_at is null`;
    case 'periodic': {
      const { period, firstDay } = periodOf(now, trigger.every);
      const tiers = trigger.tiers.map((t) => t.toLowerCase());
      const segments = trigger.segments.map((t) => t.toLowerCase());
      return sql`
        select a.id as account_id, 'periodic:' || ${period}::text as anchor, 'periodic' as cause_type, ${period}::text as cause_ref,
               null::timestamptz as basis_at, ${firstDay}::text as basis_date,
               format('%s %s (%s)', ${trigger.every === 'month' ? 'Monthly' : 'Quarterly'}::text, ${period}::text,
                      coalesce(nullif(btrim(a.tier), ''), a.segment, 'account')) as detail,
               ${who} as assignee, a.external_id, a.name as account_name, a.timezone as account_tz
          from accounts a
         where a.archived_at is null
           and (lower(btrim(a.tier)) = any(${tiers}::text[]) or lower(btrim(a.segment)) = any(${segments}::text[]))`;
    }
    case 'churn_alert':
      return churnAlertCauses(trigger, who, now);
  }
}

/**
 * Churn alerts (sql/0007_alerts.sql): one retention call per alert opened
 * within the lookback and not already resolved; due counts from opened_at.
 */
function churnAlertCauses(trigger: Extract<Trigger, { type: 'churn_alert' }>, who: RawBuilder<string | null>, now: Date): RawBuilder<unknown> {
  return sql`
    select al.account_id, 'alert:' || al.id as anchor, 'alert' as cause_type, al.id::text as cause_ref,
           al.opened_at as basis_at, null::text as basis_date,
           format('Churn alert %s (%s, %s) opened on %s', al.id, al.rule_key, al.severity,
                  to_char(al.opened_at at time zone 'UTC', 'YYYY-MM-DD'))
             || coalesce(': ' || left(nullif(btrim(case when jsonb_typeof(al.reasons) = 'array' then al.reasons ->> 0 end), ''), 300), '') as detail,
           ${who} as assignee, a.external_id, a.name as account_name, a.timezone as account_tz
      from alerts al
      join accounts a on a.id = al.account_id
     where al.status <> 'resolved'
       and al.opened_at > ${now}::timestamptz - ${trigger.lookbackDays}::int * interval '1 day'
       and al.opened_at <= ${now}::timestamptz
       and a.archived_at is null`;
}

/** One page of a playbook's candidates without a follow-up yet, in (account, anchor) order. */
export function candidatesQuery(playbook: Playbook, page: CandidatePage): RawBuilder<CandidateRow> {
  const { trigger, assignee } = playbook.definition;
  const after = page.after
    ? sql`and c.account_id >= ${page.after.accountId}::bigint
          and (c.account_id, c.anchor collate "C") > (${page.after.accountId}::bigint, ${page.after.anchor}::text collate "C")`
    : sql``;
  return sql<CandidateRow>`
    select c.account_id, c.external_id, c.account_name, c.account_tz, c.anchor, c.cause_type, c.cause_ref,
           c.basis_at, c.basis_date, c.detail, c.assignee,
           m.timezone as member_tz, m.work_start, m.work_end, m.working_days, m.daily_capacity
      from (${causes(trigger, assignee, page.now)}) c
      left join team_members m on m.email = c.assignee
      -- The dedupe probe: a parameterised lookup on follow_ups_anchor_key per
      -- cause. Written as LATERAL ... LIMIT 1 rather than NOT EXISTS so it stays
      -- an index probe even while follow_ups statistics are stale (a big first
      -- run otherwise got a quadratic anti-join over a materialised seq scan).
      left join lateral (select 1 as found from follow_ups f
                          where f.account_id = c.account_id and f.playbook_key = ${playbook.key}::text and f.anchor = c.anchor
                          limit 1) done on true
     where done.found is null
       ${after}
     order by c.account_id, c.anchor collate "C"
     limit ${page.limit}::int`;
}
