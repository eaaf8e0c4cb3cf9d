/**
 * Raw features: what the scoring SQL measures for each account, as of any
 * instant, from the daily rollups, tickets (with their versions), survey
 * answers and contracts (with their history). Each feature belongs to a
 * source (whose connection and freshness decide zero versus missing), a group
 * (where a fitted scorecard puts it) and has a sentence for the explanation.
 */
export type Source = 'usage' | 'support' | 'nps' | 'csat' | 'commercial';
export const SOURCES: Source[] = ['usage', 'support', 'nps', 'csat', 'commercial'];
type Group = 'usage' | 'support' | 'surveys' | 'commercial';

interface Feature {
  source: Source;
  group: Group;
  label: string;
  describe(raw: number): string;
}

const pct = (x: number) => `${Math.round(x * 100)}%`;
const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
const round1 = (x: number) => Math.round(x * 10) / 10;
const unlog = (r: number) => Math.round(10 ** r - 1);

export const FEATURES = {
  adoption: { source: 'usage', group: 'usage', label: 'Seat adoption', describe: (r) => `${pct(r)} of seats active in the last 30 days` },
  usage_trend: {
    source: 'usage',
    group: 'usage',
    label: 'Usage trend (30 days vs the 30 before)',
    describe: (r) => (r === 0 ? 'usage flat vs the previous 30 days' : `usage ${r > 0 ? 'up' : 'down'} ${pct(Math.abs(r))} vs the previous 30 days`),
  },
  usage_change_30_90: {
    source: 'usage',
    group: 'usage',
    label: 'Usage vs own baseline (30 days vs the 90 before)',
    describe: (r) => (r === 0 ? 'usage level with its own 90-day baseline' : `usage ${r > 0 ? 'up' : 'down'} ${pct(Math.abs(r))} vs its own 90-day baseline`),
  },
  usage_volume_30d: { source: 'usage', group: 'usage', label: 'Usage events (30 days, log scale)', describe: (r) => `${plural(unlog(r), 'usage event')} in the last 30 days` },
  usage_quantity_30d: { source: 'usage', group: 'usage', label: 'Usage quantity (30 days, log scale)', describe: (r) => `usage quantity ${unlog(r)} in the last 30 days` },
  usage_per_seat_30d: { source: 'usage', group: 'usage', label: 'Usage events per seat (30 days)', describe: (r) => `${round1(r)} usage events per seat in the last 30 days` },
  active_days_30d: { source: 'usage', group: 'usage', label: 'Active days (30 days)', describe: (r) => `active on ${plural(r, 'day')} of the last 30` },
  inactive_streak_90d: { source: 'usage', group: 'usage', label: 'Longest inactive streak (90 days)', describe: (r) => `longest stretch without usage: ${plural(r, 'day')} in the last 90` },
  feature_breadth: { source: 'usage', group: 'usage', label: 'Feature breadth', describe: (r) => `${plural(r, 'feature')} used in the last 30 days` },
  days_inactive: { source: 'usage', group: 'usage', label: 'Days since last activity', describe: (r) => (r === 0 ? 'active today' : `last activity ${plural(r, 'day')} ago`) },
  open_ticket_weight: {
    source: 'support',
    group: 'support',
    label: 'Open tickets (by priority)',
    describe: (r) => (r === 0 ? 'no open tickets' : `open tickets weigh ${round1(r)} (urgent 4, high 2, normal 1, low 0.5 each)`),
  },
  tickets_90d: { source: 'support', group: 'support', label: 'Tickets (90 days)', describe: (r) => `${plural(r, 'ticket')} opened in 90 days` },
  tickets_per_seat_90d: { source: 'support', group: 'support', label: 'Tickets per seat (90 days)', describe: (r) => `${round1(r)} tickets per seat in 90 days` },
  oldest_urgent_open_days: {
    source: 'support',
    group: 'support',
    label: 'Oldest open urgent/high ticket',
    describe: (r) => (r === 0 ? 'no urgent or high tickets open for a day or more' : `an urgent or high ticket open for ${plural(r, 'day')}`),
  },
  support_friction_90d: {
    source: 'support',
    group: 'support',
    label: 'Escalations, reopens and SLA breaches (90 days)',
    describe: (r) => `${plural(r, 'escalation, reopen or SLA breach', 'escalations, reopens and SLA breaches')} in 90 days`,
  },
  late_first_responses_90d: {
    source: 'support',
    group: 'support',
    label: 'First responses later than SLA (90 days)',
    describe: (r) => (r === 0 ? 'every first response within SLA in 90 days' : `${plural(r, 'first response')} later than SLA in 90 days`),
  },
  late_resolutions_90d: {
    source: 'support',
    group: 'support',
    label: 'Resolutions later than SLA (90 days)',
    describe: (r) => (r === 0 ? 'every ticket resolved within SLA in 90 days' : `${plural(r, 'ticket')} resolved (or still open) past SLA in 90 days`),
  },
  complaints_90d: { source: 'support', group: 'support', label: 'Complaints (90 days)', describe: (r) => (r === 0 ? 'no complaints in 90 days' : `${plural(r, 'complaint')} in 90 days`) },
  repeat_contacts_90d: {
    source: 'support',
    group: 'support',
    label: 'Problems not solved at the second contact (90 days)',
    describe: (r) => (r === 0 ? 'no problem needed a third contact in 90 days' : `${plural(r, 'problem')} not solved at the second contact in 90 days`),
  },
  escalations_90d: { source: 'support', group: 'support', label: 'Escalations (90 days)', describe: (r) => (r === 0 ? 'no escalations in 90 days' : `${plural(r, 'escalation')} in 90 days`) },
  ticket_satisfaction_90d: { source: 'support', group: 'support', label: 'Ticket satisfaction (90 days)', describe: (r) => `${pct(r)} of rated tickets were good in 90 days` },
  latest_nps: {
    source: 'nps',
    group: 'surveys',
    label: 'Latest NPS answer',
    describe: (r) => `latest NPS answer ${r} (${r >= 9 ? 'promoter' : r >= 7 ? 'passive' : 'detractor'})`,
  },
  nps_trend: {
    source: 'nps',
    group: 'surveys',
    label: 'NPS trend (90 days vs the 90 before)',
    describe: (r) => (r === 0 ? 'NPS answers steady' : `NPS answers ${r > 0 ? 'up' : 'down'} ${round1(Math.abs(r))} points vs the 90 days before`),
  },
  csat_avg_90d: { source: 'csat', group: 'surveys', label: 'CSAT average (90 days)', describe: (r) => `CSAT average ${round1(r)} of 5 in 90 days` },
  days_to_renewal: {
    source: 'commercial',
    group: 'commercial',
    label: 'Days to renewal',
    describe: (r) => (r < 0 ? `renewal ${plural(-r, 'day')} overdue` : `renewal in ${plural(r, 'day')}`),
  },
  auto_renew_off: { source: 'commercial', group: 'commercial', label: 'Auto-renew', describe: (r) => (r ? 'auto-renew is off' : 'auto-renew is on') },
  payment_overdue: { source: 'commercial', group: 'commercial', label: 'Payment standing', describe: (r) => (r ? 'payment is overdue' : 'payments are current') },
  contraction: {
    source: 'commercial',
    group: 'commercial',
    label: 'Seat or ARR change at last renewal',
    describe: (r) => (r === 0 ? 'no seat or ARR change at last renewal' : `seats or ARR ${r > 0 ? 'up' : 'down'} ${pct(Math.abs(r))} at last renewal`),
  },
  tenure_months: { source: 'commercial', group: 'commercial', label: 'Tenure', describe: (r) => `customer for ${plural(Math.round(r), 'month')}` },
  contract_months: { source: 'commercial', group: 'commercial', label: 'Contract length', describe: (r) => `current contract runs ${plural(Math.round(r), 'month')}` },
  downgrades: { source: 'commercial', group: 'commercial', label: 'Downgrades', describe: (r) => (r === 0 ? 'never downgraded' : `${plural(r, 'downgrade')} so far`) },
  overdue_contracts: {
    source: 'commercial',
    group: 'commercial',
    label: 'Payment-overdue history',
    describe: (r) => (r === 0 ? 'never paid late' : `${plural(r, 'contract')} paid late so far`),
  },
  arr: { source: 'commercial', group: 'commercial', label: 'Contract value (ARR, log scale)', describe: (r) => `ARR ${unlog(r)}` },
} satisfies Record<string, Feature>;

export type FeatureName = keyof typeof FEATURES;
export const FEATURE_NAMES = Object.keys(FEATURES) as FeatureName[];

/** Per source: the age in days of the account's newest data, and of anyone's (the workspace). Null: none yet. */
export const observedColumn = (source: Source) => `${source}_seen` as const;
export const workspaceColumn = (source: Source) => `${source}_ws_seen` as const;
type Observed = ReturnType<typeof observedColumn> | ReturnType<typeof workspaceColumn>;
export const OBSERVED_COLUMNS: Observed[] = SOURCES.flatMap((s) => [observedColumn(s), workspaceColumn(s)]);

/** One account's raw features as of an instant: null where there is no value. */
export type FeatureRow = Record<FeatureName, number | null> & Record<Observed, number | null> & { segment: string | null };

/** First-response and resolution targets by priority, in hours (docs/proof-of-score.md). */
export const SLA_HOURS = {
  firstResponse: { urgent: 1, high: 4, normal: 8, low: 24 },
  resolution: { urgent: 24, high: 72, normal: 120, low: 240 },
} as const;
