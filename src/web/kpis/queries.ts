import { type Kysely, sql } from 'kysely';
import type { Database } from '../../db/schema.js';

type Db = Kysely<Database>;

/** Support: first response and resolution (hours, median and 90th percentile), SLA, escalations, satisfaction. */
export async function supportKpis(db: Db, since: Date) {
  const { rows } = await sql<{
    opened: number;
    frt_p50: number | null;
    frt_p90: number | null;
    res_p50: number | null;
    res_p90: number | null;
    sla_breached: number;
    escalated: number;
    rated: number;
    good: number;
  }>`
    select count(*)::int as opened,
           percentile_cont(0.5) within group (order by extract(epoch from first_response_at - opened_at) / 3600) filter (where first_response_at is not null) as frt_p50,
           percentile_cont(0.9) within group (order by extract(epoch from first_response_at - opened_at) / 3600) filter (where first_response_at is not null) as frt_p90,
           percentile_cont(0.5) within group (order by extract(epoch from solved_at - opened_at) / 3600) filter (where solved_at is not null) as res_p50,
           percentile_cont(0.9) within group (order by extract(epoch from solved_at - opened_at) / 3600) filter (where solved_at is not null) as res_p90,
           count(*) filter (where sla_breached)::int as sla_breached,
           count(*) filter (where escalated)::int as escalated,
           count(*) filter (where satisfaction is not null)::int as rated,
           count(*) filter (where satisfaction = 'good')::int as good
      from tickets where opened_at >= ${since}`.execute(db);
  return rows[0]!;
}

/** Surveys: NPS (promoters − detractors, %) and CSAT average. */
export async function surveyKpis(db: Db, since: Date) {
  const { rows } = await sql<{ nps_n: number; promoters: number; detractors: number; csat_n: number; csat: number | null }>`
    select count(*) filter (where kind = 'nps')::int as nps_n,
           count(*) filter (where kind = 'nps' and score >= 9)::int as promoters,
           count(*) filter (where kind = 'nps' and score <= 6)::int as detractors,
           count(*) filter (where kind = 'csat')::int as csat_n,
           avg(score) filter (where kind = 'csat')::float8 as csat
      from survey_responses where responded_at >= ${since}`.execute(db);
  const r = rows[0]!;
  return { ...r, nps: r.nps_n ? (100 * (r.promoters - r.detractors)) / r.nps_n : null };
}

/** Follow-ups per person: done, done on time, overdue now, missed, escalated. */
export async function followUpKpis(db: Db, since: Date) {
  const { rows } = await sql<{ assignee: string | null; team: string | null; done: number; on_time: number; overdue: number; missed: number; escalated: number }>`
    select f.assignee, tm.manager_email as team,
           count(*) filter (where f.status = 'done' and f.completed_at >= ${since})::int as done,
           count(*) filter (where f.status = 'done' and f.completed_at >= ${since} and f.completed_at <= f.due_at + interval '1 hour')::int as on_time,
           count(*) filter (where f.status = 'scheduled' and f.due_at < now())::int as overdue,
           count(*) filter (where f.status = 'missed' and f.missed_at >= ${since})::int as missed,
           count(*) filter (where f.escalated_at >= ${since})::int as escalated
      from follow_ups f left join team_members tm on tm.email = f.assignee
     where f.updated_at >= ${since} or (f.status = 'scheduled' and f.due_at < now())
     group by 1, 2
     order by 1 nulls last`.execute(db);
  return rows;
}

/** Alerts resolved by hand, per person, by outcome. */
export async function alertOutcomesByPerson(db: Db, since: Date) {
  const { rows } = await sql<{ person: string; saved: number; churned: number; false_alarm: number; other: number }>`
    select resolved_by as person,
           count(*) filter (where outcome = 'saved')::int as saved,
           count(*) filter (where outcome = 'churned')::int as churned,
           count(*) filter (where outcome = 'false_alarm')::int as false_alarm,
           count(*) filter (where outcome = 'other')::int as other
      from alerts where resolved_at >= ${since} and resolved_by is not null
     group by 1 order by 1`.execute(db);
  return rows;
}

/** Accounts per band on each of the last weeks (the daily snapshot of each week's last day that has one). */
export async function bandsOverTime(db: Db, weeks: number) {
  const { rows } = await sql<{ day: string; band: string | null; n: number }>`
    with days as (
      select max(day) as day from health_snapshots
       where reason = 'daily' and day >= current_date - ${weeks * 7}::int
       group by date_trunc('week', day)
    )
    select s.day::text as day, s.band, count(*)::int as n
      from health_snapshots s join days d on d.day = s.day
     where s.reason = 'daily'
     group by 1, 2 order by 1`.execute(db);
  const byDay = new Map<string, Record<string, number>>();
  for (const r of rows) {
    const entry = byDay.get(r.day) ?? { red: 0, yellow: 0, green: 0, none: 0 };
    entry[r.band ?? 'none'] = (entry[r.band ?? 'none'] ?? 0) + r.n;
    byDay.set(r.day, entry);
  }
  return [...byDay.entries()].map(([day, bands]) => ({ day, bands }));
}
