/**
 * Raw features: what the scoring SQL measures for each account from the daily
 * rollups, tickets, survey answers and contracts. Each has the column that
 * says when its data was last observed (for freshness limits) and a sentence
 * for the explanation.
 */
type Observed = 'usage_seen' | 'support_seen' | 'nps_seen' | 'csat_seen' | 'commercial_seen';

interface Feature {
  observed: Observed;
  describe(raw: number): string;
}

const pct = (x: number) => `${Math.round(x * 100)}%`;
const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
const round1 = (x: number) => Math.round(x * 10) / 10;

export const FEATURES = {
  adoption: { observed: 'usage_seen', describe: (r) => `${pct(r)} of seats active in the last 30 days` },
  usage_trend: {
    observed: 'usage_seen',
    describe: (r) => (r === 0 ? 'usage flat vs the previous 30 days' : `usage ${r > 0 ? 'up' : 'down'} ${pct(Math.abs(r))} vs the previous 30 days`),
  },
  feature_breadth: { observed: 'usage_seen', describe: (r) => `${plural(r, 'feature')} used in the last 30 days` },
  days_inactive: { observed: 'usage_seen', describe: (r) => (r === 0 ? 'active today' : `last activity ${plural(r, 'day')} ago`) },
  open_ticket_weight: {
    observed: 'support_seen',
    describe: (r) => (r === 0 ? 'no open tickets' : `open tickets weigh ${round1(r)} (urgent 4, high 2, normal 1, low 0.5 each)`),
  },
  tickets_per_seat_90d: { observed: 'support_seen', describe: (r) => `${round1(r)} tickets per seat in 90 days` },
  oldest_urgent_open_days: {
    observed: 'support_seen',
    describe: (r) => (r === 0 ? 'no urgent or high tickets open for a day or more' : `an urgent or high ticket open for ${plural(r, 'day')}`),
  },
  support_friction_90d: { observed: 'support_seen', describe: (r) => `${plural(r, 'escalation, reopen or SLA breach', 'escalations, reopens and SLA breaches')} in 90 days` },
  ticket_satisfaction_90d: { observed: 'support_seen', describe: (r) => `${pct(r)} of rated tickets were good in 90 days` },
  latest_nps: {
    observed: 'nps_seen',
    describe: (r) => `latest NPS answer ${r} (${r >= 9 ? 'promoter' : r >= 7 ? 'passive' : 'detractor'})`,
  },
  nps_trend: {
    observed: 'nps_seen',
    describe: (r) => (r === 0 ? 'NPS answers steady' : `NPS answers ${r > 0 ? 'up' : 'down'} ${round1(Math.abs(r))} points vs the 90 days before`),
  },
  csat_avg_90d: { observed: 'csat_seen', describe: (r) => `CSAT average ${round1(r)} of 5 in 90 days` },
  days_to_renewal: { observed: 'commercial_seen', describe: (r) => (r < 0 ? `renewal ${plural(-r, 'day')} overdue` : `renewal in ${plural(r, 'day')}`) },
  auto_renew_off: { observed: 'commercial_seen', describe: (r) => (r ? 'auto-renew is off' : 'auto-renew is on') },
  payment_overdue: { observed: 'commercial_seen', describe: (r) => (r ? 'payment is overdue' : 'payments are current') },
  contraction: {
    observed: 'commercial_seen',
    describe: (r) => (r === 0 ? 'no seat or ARR change at last renewal' : `seats or ARR ${r > 0 ? 'up' : 'down'} ${pct(Math.abs(r))} at last renewal`),
  },
} satisfies Record<string, Feature>;

export type FeatureName = keyof typeof FEATURES;
export const FEATURE_NAMES = Object.keys(FEATURES) as FeatureName[];
export const OBSERVED_COLUMNS: Observed[] = ['usage_seen', 'support_seen', 'nps_seen', 'csat_seen', 'commercial_seen'];

/** One account's raw features: null where there is no data. Dates are days before `asOf`. */
export type FeatureRow = Record<FeatureName, number | null> & Record<Observed, number | null> & { segment: string | null };

const OPEN = `('new', 'open', 'pending')`;

/**
 * The set-based feature query. `$accounts` limits it to some accounts (the
 * incremental run) or is null (all). `$as_of` is the scoring day. Reads only
 * rollups and the small signal tables, never raw usage events. The *_seen
 * columns are the age in days of each source's newest data.
 */
export const featuresSql = (accountsParam: string, asOfParam: string) => `
with acct as (
  select a.id as account_id, a.segment, coalesce(a.seats, c.seats) as seats
    from accounts a
    left join lateral (
      select seats from contracts c where c.account_id = a.id and c.status in ('active', 'renewed')
       order by end_date desc limit 1) c on true
   where a.archived_at is null and (${accountsParam}::int8[] is null or a.id = any(${accountsParam}::int8[]))
),
usage as (
  select account_id,
         coalesce(sum(events) filter (where day > ${asOfParam}::date - 30), 0) as e30,
         coalesce(sum(events) filter (where day <= ${asOfParam}::date - 30 and day > ${asOfParam}::date - 60), 0) as e60,
         count(distinct metric) filter (where day > ${asOfParam}::date - 30) as breadth,
         ${asOfParam}::date - max(day) as days_inactive
    from usage_daily
   where day > ${asOfParam}::date - 180 and day <= ${asOfParam}::date
     and (${accountsParam}::int8[] is null or account_id = any(${accountsParam}::int8[]))
   group by account_id
),
users as (
  select account_id, count(distinct user_id) as active_users
    from usage_daily_users
   where day > ${asOfParam}::date - 30 and day <= ${asOfParam}::date
     and (${accountsParam}::int8[] is null or account_id = any(${accountsParam}::int8[]))
   group by account_id
),
support as (
  select account_id,
         coalesce(sum(case priority when 'urgent' then 4 when 'high' then 2 when 'normal' then 1 else 0.5 end)
                  filter (where status in ${OPEN}), 0) as open_weight,
         count(*) filter (where opened_at > ${asOfParam}::date - 90) as opened_90,
         coalesce(max(${asOfParam}::date - opened_at::date) filter (where status in ${OPEN} and priority in ('urgent', 'high')), 0) as oldest_urgent,
         coalesce(sum(escalated::int + reopen_count + sla_breached::int) filter (where opened_at > ${asOfParam}::date - 90), 0) as friction,
         count(*) filter (where satisfaction = 'good' and solved_at > ${asOfParam}::date - 90) as good,
         count(*) filter (where satisfaction is not null and solved_at > ${asOfParam}::date - 90) as rated,
         ${asOfParam}::date - max(source_updated_at)::date as seen
    from tickets
   where (${accountsParam}::int8[] is null or account_id = any(${accountsParam}::int8[]))
   group by account_id
),
surveys as (
  select account_id,
         (array_agg(score order by responded_at desc) filter (where kind = 'nps'))[1] as latest_nps,
         avg(score) filter (where kind = 'nps' and responded_at > ${asOfParam}::date - 90) as nps_recent,
         avg(score) filter (where kind = 'nps' and responded_at <= ${asOfParam}::date - 90 and responded_at > ${asOfParam}::date - 180) as nps_prior,
         avg(score) filter (where kind = 'csat' and responded_at > ${asOfParam}::date - 90) as csat_90,
         ${asOfParam}::date - (max(responded_at) filter (where kind = 'nps'))::date as nps_seen,
         ${asOfParam}::date - (max(responded_at) filter (where kind = 'csat'))::date as csat_seen
    from survey_responses
   where responded_at <= ${asOfParam}::date + 1
     and (${accountsParam}::int8[] is null or account_id = any(${accountsParam}::int8[]))
   group by account_id
),
contract_rank as (
  select account_id, end_date, auto_renew, payment_status, arr, seats, updated_at,
         row_number() over (partition by account_id order by (status in ('active', 'renewed')) desc, end_date desc, contract_id) as rn,
         row_number() over (partition by account_id order by start_date desc, contract_id) as recency
    from contracts
   where (${accountsParam}::int8[] is null or account_id = any(${accountsParam}::int8[]))
),
commercial as (
  select account_id,
         max(end_date - ${asOfParam}::date) filter (where rn = 1) as days_to_renewal,
         max(case when auto_renew then 0 else 1 end) filter (where rn = 1) as auto_renew_off,
         max(case when payment_status = 'overdue' then 1 else 0 end) filter (where rn = 1) as payment_overdue,
         max(arr) filter (where recency = 1) as arr_now, max(arr) filter (where recency = 2) as arr_prev,
         max(seats) filter (where recency = 1) as seats_now, max(seats) filter (where recency = 2) as seats_prev,
         ${asOfParam}::date - max(updated_at)::date as seen
    from contract_rank
   group by account_id
)
select acct.account_id, acct.segment,
       case when usage.account_id is not null and acct.seats > 0 then coalesce(users.active_users, 0)::float8 / acct.seats end as adoption,
       case when usage.e60 > 0 then (usage.e30 - usage.e60)::float8 / usage.e60 end as usage_trend,
       usage.breadth::float8 as feature_breadth,
       usage.days_inactive::float8 as days_inactive,
       support.open_weight::float8 as open_ticket_weight,
       case when acct.seats > 0 then support.opened_90::float8 / acct.seats end as tickets_per_seat_90d,
       support.oldest_urgent::float8 as oldest_urgent_open_days,
       support.friction::float8 as support_friction_90d,
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
       end as contraction,
       usage.days_inactive::float8 as usage_seen,
       support.seen::float8 as support_seen,
       surveys.nps_seen::float8 as nps_seen,
       surveys.csat_seen::float8 as csat_seen,
       commercial.seen::float8 as commercial_seen
  from acct
  left join usage using (account_id)
  left join users using (account_id)
  left join support using (account_id)
  left join surveys using (account_id)
  left join commercial using (account_id)`;
