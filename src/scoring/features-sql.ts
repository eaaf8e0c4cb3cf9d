import { SLA_HOURS, SOURCES } from './features.js';

/**
 * The set-based feature query, point in time. It reads a relation `targets`
 * (target_id, account_id, as_of) and computes every feature of each target as
 * of its own instant T: windows end at T, a ticket's state is its newest
 * version stored by T, a contract's state is its newest history row by T,
 * survey answers are those given by T. The live score is the case T = now;
 * backtests score many accounts, each at its own T, in the same statement.
 *
 * Usage is read from daily rollups. T's own day is taken
 *  - `rollup`: from its rollup (live: nothing after now exists yet),
 *  - `events`: from raw events before T (an arbitrary past instant),
 *  - `none`: not at all (T is midnight: the day has not begun).
 *
 * `$lo` (date) and `$hi` (timestamptz) bound every T, so the scans of the
 * signal tables can be pruned by constant ranges.
 *
 * Every step is MATERIALIZED: right after a bulk load the planner may believe
 * there is one target and put an aggregate on the inner side of a nested
 * loop, recomputing it for every target (hours on the embedded database).
 */
export type PartialDay = 'rollup' | 'events' | 'none';

const OPEN = `('new', 'open', 'pending')`;
const dayStart = (day: string) => `((${day})::timestamp at time zone 'UTC')`;
const target = (hours: Record<string, number>) =>
  `(case k.priority ${Object.entries(hours).map(([p, h]) => `when '${p}' then ${h}`).join(' ')} end) * interval '1 hour'`;

export function featuresSql(targets: string, lo: string, hi: string, partialDay: PartialDay): string {
  const includeD0 = partialDay === 'rollup' ? 'u.day <= t.d0' : 'u.day < t.d0';
  const rawEvents = (select: string, extra = '') =>
    partialDay === 'events'
      ? `union all
  select ${select}
    from targets t join usage_events e on e.account_id = t.account_id
   where e.occurred_at >= ${dayStart('t.d0')} and e.occurred_at < t.as_of ${extra}`
      : '';
  return `
with targets as materialized (
  select x.target_id, x.account_id, x.as_of, (x.as_of at time zone 'UTC')::date as d0 from (${targets}) x
),
acct as materialized (
  select t.target_id, t.account_id, t.as_of, t.d0, a.segment, a.seats as account_seats
    from targets t join accounts a on a.id = t.account_id
),
usage_rows as materialized (
  select t.target_id, t.d0, u.day, u.metric, u.events, u.quantity
    from targets t join usage_daily u on u.account_id = t.account_id
   where u.day > ${lo}::date - 200 and u.day <= (${hi}::timestamptz at time zone 'UTC')::date
     and u.day > t.d0 - 180 and ${includeD0}
  union all -- deltas no compaction has folded in yet (sql/0035): every aggregate below is a sum or over distinct days
  select t.target_id, t.d0, u.day, u.metric, u.events, u.quantity
    from targets t join usage_daily_deltas u on u.account_id = t.account_id
   where u.day > ${lo}::date - 200 and u.day <= (${hi}::timestamptz at time zone 'UTC')::date
     and u.day > t.d0 - 180 and ${includeD0}
  ${rawEvents('t.target_id, t.d0, t.d0, e.metric, 1::int8, e.quantity', `and e.occurred_at >= ${lo}::date - 1`)}
),
usage as materialized (
  select target_id,
         coalesce(sum(events) filter (where day > d0 - 30), 0) as e30,
         coalesce(sum(events) filter (where day <= d0 - 30 and day > d0 - 60), 0) as e60,
         coalesce(sum(events) filter (where day <= d0 - 30 and day > d0 - 120), 0) / 3.0 as baseline,
         coalesce(sum(quantity) filter (where day > d0 - 30), 0) as q30,
         count(distinct metric) filter (where day > d0 - 30) as breadth,
         count(distinct day) filter (where day > d0 - 30) as active_days,
         d0 - max(day) as days_inactive
    from usage_rows
   group by target_id, d0
),
streaks as materialized (
  select target_id, greatest(max(gap), max(trail)) as longest
    from (
      select target_id,
             day - lag(day, 1, d0 - 90) over (partition by target_id order by day) - 1 as gap,
             d0 - max(day) over (partition by target_id) as trail
        from (select distinct target_id, d0, day from usage_rows) d
       where day > d0 - 90
    ) g
   group by target_id
),
users as materialized (
  -- distinct pairs first (hashed), then a count: count(distinct) would sort every row by target
  select target_id, count(*) as active_users
    from (
      select distinct target_id, user_id from (
      select t.target_id, u.user_id
        from targets t join usage_daily_users u on u.account_id = t.account_id
       where u.day > ${lo}::date - 40 and u.day > t.d0 - 30 and ${includeD0}
      union all
      select t.target_id, x.user_id
        from targets t join usage_daily_deltas u on u.account_id = t.account_id cross join unnest(u.user_ids) as x(user_id)
       where u.day > ${lo}::date - 40 and u.day > t.d0 - 30 and ${includeD0}
      ${rawEvents('t.target_id, e.user_id', `and e.user_id is not null and e.occurred_at >= ${lo}::date - 1`)}
      ) x
    ) pairs
   group by target_id
),
ticket_state as materialized (
  -- the stored version is valid at T: read it as it is
  select t.target_id, t.d0, t.as_of, k.opened_at, k.status, k.priority, k.kind, k.first_response_at, k.solved_at,
         k.reopen_count, k.escalated, k.sla_breached, k.satisfaction
    from targets t join tickets k on k.account_id = t.account_id
   where k.opened_at <= t.as_of and k.source_updated_at <= t.as_of and k.opened_at <= ${hi}::timestamptz
  union all
  -- changed since T: its newest version by T, or (none stored by then) what its timestamps say about T
  select t.target_id, t.d0, t.as_of, k.opened_at,
         coalesce(v.status, case when k.solved_at <= t.as_of then 'solved' else 'open' end),
         coalesce(v.priority, k.priority), coalesce(v.kind, k.kind),
         case when v.status is not null then v.first_response_at when k.first_response_at <= t.as_of then k.first_response_at end,
         case when v.status is not null then v.solved_at when k.solved_at <= t.as_of then k.solved_at end,
         case when v.status is not null then v.reopen_count when k.solved_at <= t.as_of then k.reopen_count else 0 end,
         case when v.status is not null then v.escalated when k.solved_at <= t.as_of then k.escalated else false end,
         case when v.status is not null then v.sla_breached when k.solved_at <= t.as_of then k.sla_breached else false end,
         case when v.status is not null then v.satisfaction when k.solved_at <= t.as_of then k.satisfaction end
    from targets t join tickets k on k.account_id = t.account_id
    left join lateral (
      select h.* from ticket_history h
       where h.account_id = k.account_id and h.ticket_id = k.ticket_id and h.source_updated_at <= t.as_of
       order by h.source_updated_at desc limit 1) v on true
   where k.opened_at <= t.as_of and k.source_updated_at > t.as_of
),
support as materialized (
  select target_id,
         coalesce(sum(case priority when 'urgent' then 4 when 'high' then 2 when 'normal' then 1 else 0.5 end)
                  filter (where status in ${OPEN}), 0) as open_weight,
         count(*) filter (where opened_at > ${dayStart('d0 - 90')}) as opened_90,
         coalesce(max(d0 - (opened_at at time zone 'UTC')::date) filter (where status in ${OPEN} and priority in ('urgent', 'high')), 0) as oldest_urgent,
         coalesce(sum(escalated::int + reopen_count + sla_breached::int) filter (where opened_at > ${dayStart('d0 - 90')}), 0) as friction,
         count(*) filter (where opened_at > ${dayStart('d0 - 90')} and coalesce(first_response_at, as_of) - opened_at > ${target(SLA_HOURS.firstResponse)}) as late_first,
         count(*) filter (where opened_at > ${dayStart('d0 - 90')} and coalesce(solved_at, as_of) - opened_at > ${target(SLA_HOURS.resolution)}) as late_resolution,
         count(*) filter (where opened_at > ${dayStart('d0 - 90')} and lower(kind) = 'complaint') as complaints,
         count(*) filter (where opened_at > ${dayStart('d0 - 90')} and reopen_count >= 2) as repeats,
         count(*) filter (where opened_at > ${dayStart('d0 - 90')} and escalated) as escalations,
         count(*) filter (where satisfaction = 'good' and solved_at > ${dayStart('d0 - 90')}) as good,
         count(*) filter (where satisfaction is not null and solved_at > ${dayStart('d0 - 90')}) as rated,
         d0 - max((opened_at at time zone 'UTC')::date) as seen
    from ticket_state k
   group by target_id, d0
),
surveys as materialized (
  select t.target_id,
         (array_agg(score order by responded_at desc) filter (where kind = 'nps'))[1] as latest_nps,
         avg(score) filter (where kind = 'nps' and responded_at > ${dayStart('t.d0 - 90')}) as nps_recent,
         avg(score) filter (where kind = 'nps' and responded_at <= ${dayStart('t.d0 - 90')} and responded_at > ${dayStart('t.d0 - 180')}) as nps_prior,
         avg(score) filter (where kind = 'csat' and responded_at > ${dayStart('t.d0 - 90')}) as csat_90,
         t.d0 - (max(responded_at) filter (where kind = 'nps') at time zone 'UTC')::date as nps_seen,
         t.d0 - (max(responded_at) filter (where kind = 'csat') at time zone 'UTC')::date as csat_seen
    from targets t join survey_responses s on s.account_id = t.account_id
   where s.responded_at <= t.as_of and s.responded_at <= ${hi}::timestamptz
   group by t.target_id, t.d0
),
contract_state as materialized (
  select t.target_id, t.d0, c.contract_id, c.start_date, c.auto_renew,
         coalesce(v.status, case when o.occurred_on < t.d0 then o.kind else 'active' end) as status,
         coalesce(v.payment_status, 'current') as payment_status,
         coalesce(v.arr, f.arr) as arr, coalesce(v.seats, f.seats) as seats, coalesce(v.end_date, f.end_date) as end_date
    from targets t
    join contracts c on c.account_id = t.account_id and c.start_date <= t.d0
    left join lateral (
      select h.status, h.payment_status, h.arr, h.seats, h.end_date from contract_history h
       where h.account_id = c.account_id and h.contract_id = c.contract_id and h.changed_at <= t.as_of
       order by h.changed_at desc limit 1) v on true
    left join lateral (
      select h.arr, h.seats, h.end_date from contract_history h
       where h.account_id = c.account_id and h.contract_id = c.contract_id
       order by h.changed_at limit 1) f on v.status is null
    left join outcomes o on v.status is null and o.account_id = c.account_id and o.outcome_key = 'contract:' || c.contract_id
),
contract_rank as materialized (
  select *,
         row_number() over (partition by target_id order by (status in ('active', 'renewed')) desc, end_date desc, contract_id) as rn,
         row_number() over (partition by target_id order by start_date desc, contract_id) as recency
    from contract_state
),
commercial as materialized (
  select target_id,
         max(end_date - d0) filter (where rn = 1) as days_to_renewal,
         max(case when auto_renew then 0 else 1 end) filter (where rn = 1) as auto_renew_off,
         max(case when payment_status = 'overdue' then 1 else 0 end) filter (where rn = 1) as payment_overdue,
         max((end_date - start_date) / 30.4375) filter (where rn = 1) as contract_months,
         max(seats) filter (where rn = 1) as current_seats,
         max(arr) filter (where recency = 1) as arr_now, max(arr) filter (where recency = 2) as arr_prev,
         max(seats) filter (where recency = 1) as seats_now, max(seats) filter (where recency = 2) as seats_prev,
         (max(d0) - min(start_date)) / 30.4375 as tenure_months,
         max(d0) - max(start_date) as seen
    from contract_rank
   group by target_id
),
history as materialized (
  select t.target_id,
         (select count(*) from outcomes o where o.account_id = t.account_id and o.kind = 'downgraded' and o.occurred_on < t.d0) as downgrades,
         (select count(distinct h.contract_id) from contract_history h
           where h.account_id = t.account_id and h.payment_status = 'overdue' and h.changed_at <= t.as_of) as overdue_contracts
    from targets t
),
workspace as materialized (
  select d.d0, ${SOURCES.map((s) => `d.d0 - (select max(day) from source_days where source = '${s}' and day <= d.d0) as ${s}_ws_seen`).join(', ')}
    from (select distinct d0 from targets) d
)
select acct.target_id, acct.account_id, acct.as_of, acct.segment,
       case when coalesce(acct.account_seats, commercial.current_seats) > 0
            then coalesce(users.active_users, 0)::float8 / coalesce(acct.account_seats, commercial.current_seats) end as adoption,
       -- no usage before but some now: no baseline to compare with (no value); none at all: flat at zero
       case when usage.e60 > 0 then (usage.e30 - usage.e60)::float8 / usage.e60 when coalesce(usage.e30, 0) = 0 then 0 end as usage_trend,
       case when usage.baseline > 0 then least((usage.e30 - usage.baseline)::float8 / usage.baseline, 5) when coalesce(usage.e30, 0) = 0 then 0 end as usage_change_30_90,
       log(1 + coalesce(usage.e30, 0))::float8 as usage_volume_30d,
       log(1 + coalesce(usage.q30, 0))::float8 as usage_quantity_30d,
       case when coalesce(acct.account_seats, commercial.current_seats) > 0
            then coalesce(usage.e30, 0)::float8 / coalesce(acct.account_seats, commercial.current_seats) end as usage_per_seat_30d,
       coalesce(usage.active_days, 0)::float8 as active_days_30d,
       coalesce(streaks.longest, 90)::float8 as inactive_streak_90d,
       coalesce(usage.breadth, 0)::float8 as feature_breadth,
       coalesce(usage.days_inactive, 180)::float8 as days_inactive,
       coalesce(support.open_weight, 0)::float8 as open_ticket_weight,
       coalesce(support.opened_90, 0)::float8 as tickets_90d,
       case when coalesce(acct.account_seats, commercial.current_seats) > 0
            then coalesce(support.opened_90, 0)::float8 / coalesce(acct.account_seats, commercial.current_seats) end as tickets_per_seat_90d,
       coalesce(support.oldest_urgent, 0)::float8 as oldest_urgent_open_days,
       coalesce(support.friction, 0)::float8 as support_friction_90d,
       coalesce(support.late_first, 0)::float8 as late_first_responses_90d,
       coalesce(support.late_resolution, 0)::float8 as late_resolutions_90d,
       coalesce(support.complaints, 0)::float8 as complaints_90d,
       coalesce(support.repeats, 0)::float8 as repeat_contacts_90d,
       coalesce(support.escalations, 0)::float8 as escalations_90d,
       case when support.rated > 0 then support.good::float8 / support.rated end as ticket_satisfaction_90d,
       surveys.latest_nps::float8 as latest_nps,
       (surveys.nps_recent - surveys.nps_prior)::float8 as nps_trend,
       surveys.csat_90::float8 as csat_avg_90d,
       commercial.days_to_renewal::float8 as days_to_renewal,
       commercial.auto_renew_off::float8 as auto_renew_off,
       commercial.payment_overdue::float8 as payment_overdue,
       case
         when commercial.arr_prev > 0 and commercial.seats_prev > 0 and commercial.seats_now is not null
           then least(commercial.arr_now / commercial.arr_prev, commercial.seats_now::numeric / commercial.seats_prev)::float8 - 1
         when commercial.arr_prev > 0 then (commercial.arr_now / commercial.arr_prev)::float8 - 1
         when commercial.arr_now is not null then 0
       end as contraction,
       commercial.tenure_months::float8 as tenure_months,
       commercial.contract_months::float8 as contract_months,
       case when commercial.target_id is not null then history.downgrades::float8 end as downgrades,
       case when commercial.target_id is not null then history.overdue_contracts::float8 end as overdue_contracts,
       log(1 + commercial.arr_now)::float8 as arr,
       usage.days_inactive::float8 as usage_seen,
       support.seen::float8 as support_seen,
       surveys.nps_seen::float8 as nps_seen,
       surveys.csat_seen::float8 as csat_seen,
       commercial.seen::float8 as commercial_seen,
       ${SOURCES.map((s) => `workspace.${s}_ws_seen::float8 as ${s}_ws_seen`).join(', ')}
  from acct
  join workspace using (d0)
  left join usage using (target_id)
  left join streaks using (target_id)
  left join users using (target_id)
  left join support using (target_id)
  left join surveys using (target_id)
  left join commercial using (target_id)
  left join history using (target_id)`;
}
