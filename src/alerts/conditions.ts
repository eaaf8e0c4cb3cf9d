import { type Kysely, type RawBuilder, sql } from 'kysely';
import type { Database } from '../db/schema.js';
import { attribute, type StoredScore } from '../scoring/explain.js';
import type { GROUPS } from '../scoring/scorecard.js';
import type { HealthDigest } from './digest.js';
import type { Rule, RuleOf, RuleType } from './rules.js';

type Db = Kysely<Database>;
type Group = (typeof GROUPS)[number];

/**
 * The rule types. Each finds, in ONE statement over the accounts in scope
 * (all, or the ids just recomputed), the accounts whose condition holds now,
 * with the numbers that make it hold. Accounts absent from the result do not
 * meet the condition (their open alert for the rule resolves itself).
 *
 * Dates are UTC days, like usage_daily and the scoring run.
 */

/** Accounts in scope: null is every account. */
export type Scope = number[] | null;

/** One account meeting a rule's condition. */
export interface Hit {
  accountId: number;
  /** The numbers that triggered it (stored on the alert as jsonb). */
  metrics: Record<string, unknown>;
  /** For score_drop: the snapshot the drop is measured from. */
  reference?: { scorecardId: number; stored: StoredScore };
}

export interface Described {
  /** The rule's own sentence, first of the alert's reasons. */
  sentence: string;
  /** A coarse value of the rule's numbers: a change of it is a material change. */
  bucket: unknown;
}

export interface RuleKind<T extends RuleType> {
  /** Explanation groups whose weak measures are cited as further reasons (null: all). */
  groups: Group[] | null;
  find(db: Db, scope: Scope, rule: RuleOf<T>): Promise<Hit[]>;
  describe(rule: RuleOf<T>, hit: Hit, digest: HealthDigest | undefined, card: CardLookup): Described;
  /** Why an alert of this rule resolved itself. */
  cleared(rule: RuleOf<T>): string;
}

export type CardLookup = (scorecardId: number) => import('../scoring/scorecard.js').ScorecardDefinition | undefined;

const inScope = (column: RawBuilder<unknown>, scope: Scope) =>
  sql<boolean>`(${scope}::int8[] is null or ${column} = any(${scope}::int8[]))`;
const today = sql`(now() at time zone 'utc')::date`;

const day = (value: unknown) => (typeof value === 'string' ? value.slice(0, 10) : value instanceof Date ? value.toISOString().slice(0, 10) : String(value));
const whole = (x: number) => Math.round(x);
const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
/** A signed number as in "open tickets −9" (a true minus sign). */
const signed = (x: number) => (x < 0 ? `\u2212${whole(-x)}` : `+${whole(x)}`);

/**
 * The next upcoming renewal of each account in scope: the earliest date on or
 * after today among the account's renewal_date and the end dates of its
 * active contracts.
 */
const renewals = (scope: Scope) => sql`
  select a.id as account_id,
         (select min(x) from (select a.renewal_date as x
                              union all
                              select c.end_date from contracts c where c.account_id = a.id and c.status = 'active') r
           where x >= ${today}) as renewal_date
    from accounts a
   where a.archived_at is null and ${inScope(sql.ref('a.id'), scope)}`;

const enteredRed: RuleKind<'entered_red'> = {
  groups: null,
  async find(db, scope) {
    const { rows } = await sql<{ account_id: number; score: number; since: Date | null; previous_band: string | null }>`
      select h.account_id, h.score, h.band_changed_at as since,
             (select s.previous_band from health_snapshots s
               where s.account_id = h.account_id and s.reason = 'band_change' and s.band = 'red'
               order by s.taken_at desc limit 1) as previous_band
        from health_scores h
        join accounts a on a.id = h.account_id
       where a.archived_at is null and h.band = 'red' and ${inScope(sql.ref('h.account_id'), scope)}`.execute(db);
    return rows.map((r) => ({
      accountId: r.account_id,
      metrics: { score: Math.round(r.score * 100) / 100, band: 'red', since: r.since?.toISOString() ?? null, previousBand: r.previous_band },
    }));
  },
  describe(_rule, hit) {
    const m = hit.metrics as { score: number; since: string | null; previousBand: string | null };
    const since = m.since ? ` on ${day(m.since)}` : '';
    const from = m.previousBand ? ` (from ${m.previousBand})` : '';
    return { sentence: `entered the red band${since}${from}; score now ${whole(m.score)}`, bucket: Math.floor(m.score / 10) };
  },
  cleared: () => 'score left the red band',
};

const scoreDrop: RuleKind<'score_drop'> = {
  groups: null,
  async find(db, scope, rule) {
    const { points, days } = rule.params;
    const { rows } = await sql<{
      account_id: number;
      score: number;
      peak: number;
      peak_at: Date;
      scorecard_id: number;
      raw: (number | null)[];
      sub: (number | null)[];
      pulse: number | null;
    }>`
      select h.account_id, h.score, p.score as peak, p.taken_at as peak_at, p.scorecard_id, p.raw, p.sub, p.pulse
        from health_scores h
        join accounts a on a.id = h.account_id
        join lateral (
          -- the highest score in the window, counting the score in effect at its start
          -- settled scores of the current scorecard only: none taken while the account's history was arriving
          -- (sql/0065 account_imports), none of a scorecard since replaced
          select s.score, s.taken_at, s.scorecard_id, s.raw, s.sub, s.pulse
            from health_snapshots s
           where s.account_id = h.account_id and s.score is not null and s.scorecard_id = h.scorecard_id
             and not exists (select 1 from account_imports i where i.account_id = s.account_id
                                and s.taken_at >= i.started_at and s.taken_at < coalesce(i.settled_at, 'infinity'::timestamptz))
             and s.taken_at >= coalesce(
                   (select max(s0.taken_at) from health_snapshots s0
                     where s0.account_id = h.account_id and s0.taken_at <= now() - make_interval(days => ${days}::int)
                       and s0.scorecard_id = h.scorecard_id),
                   now() - make_interval(days => ${days}::int))
           order by s.score desc, s.taken_at desc
           limit 1) p on true
       where a.archived_at is null and h.score is not null and p.score - h.score >= ${points}::float8
         and ${inScope(sql.ref('h.account_id'), scope)}`.execute(db);
    return rows.map((r) => ({
      accountId: r.account_id,
      metrics: {
        score: Math.round(r.score * 100) / 100,
        peakScore: Math.round(r.peak * 100) / 100,
        peakAt: r.peak_at.toISOString(),
        drop: Math.round((r.peak - r.score) * 100) / 100,
        days,
      },
      reference: { scorecardId: r.scorecard_id, stored: { score: r.peak, raw: r.raw, sub: r.sub, pulse: r.pulse } },
    }));
  },
  describe(rule, hit, digest, card) {
    const m = hit.metrics as { score: number; peakScore: number; drop: number };
    let causes = '';
    const refCard = hit.reference && card(hit.reference.scorecardId);
    if (refCard && digest?.current) {
      const changes = attribute({ card: refCard, stored: hit.reference!.stored }, digest.current)
        .filter((c) => c.delta <= -0.5)
        .slice(0, 3);
      if (changes.length) causes = `: ${changes.map((c) => `${c.label} ${signed(c.delta)}`).join(', ')}`;
    }
    return {
      sentence: `score dropped ${whole(m.drop)} points in ${plural(rule.params.days, 'day')} (${whole(m.peakScore)} \u2192 ${whole(m.score)})${causes}`,
      bucket: Math.floor(m.drop / 10),
    };
  },
  cleared: (rule) => `score is no longer ${rule.params.points} points below its ${rule.params.days}-day high`,
};

const renewalAtRisk: RuleKind<'renewal_at_risk'> = {
  groups: null,
  async find(db, scope, rule) {
    const { withinDays, belowScore } = rule.params;
    const { rows } = await sql<{ account_id: number; renewal_date: string; days: number; score: number }>`
      with renewals as (${renewals(scope)})
      select r.account_id, r.renewal_date, r.renewal_date - ${today} as days, h.score
        from renewals r
        join health_scores h on h.account_id = r.account_id
       where r.renewal_date <= ${today} + ${withinDays}::int and h.score is not null and h.score < ${belowScore}::float8`.execute(db);
    return rows.map((r) => ({
      accountId: r.account_id,
      metrics: { renewalDate: r.renewal_date, daysToRenewal: r.days, score: Math.round(r.score * 100) / 100, belowScore },
    }));
  },
  describe(rule, hit) {
    const m = hit.metrics as { renewalDate: string; daysToRenewal: number; score: number };
    const when = m.daysToRenewal === 0 ? 'renewal today' : `renewal in ${plural(m.daysToRenewal, 'day')}`;
    return {
      sentence: `${when} (${m.renewalDate}) while the score is ${whole(m.score)}, below ${rule.params.belowScore}`,
      bucket: [m.renewalDate, Math.floor(m.score / 10)],
    };
  },
  cleared: (rule) => `renewal is no longer within ${rule.params.withinDays} days with a score below ${rule.params.belowScore}`,
};

const detractorWithEscalation: RuleKind<'detractor_with_escalation'> = {
  groups: ['surveys', 'support'],
  async find(db, scope, rule) {
    const { withinDays, maxScore } = rule.params;
    const { rows } = await sql<{
      account_id: number;
      response_id: string;
      score: number;
      responded_at: Date;
      respondent: string | null;
      tickets: string[];
    }>`
      with detractors as (
        select distinct on (account_id) account_id, response_id, score, responded_at, respondent
          from survey_responses
         where kind = 'nps' and score <= ${maxScore}::int
           and responded_at > now() - make_interval(days => ${withinDays}::int) and responded_at <= now()
           and ${inScope(sql.ref('account_id'), scope)}
         order by account_id, responded_at desc, response_id),
      escalated as (
        select account_id, jsonb_agg(ticket_id order by opened_at, ticket_id) as tickets
          from tickets
         where status in ('new', 'open', 'pending') and escalated and ${inScope(sql.ref('account_id'), scope)}
         group by account_id)
      select d.account_id, d.response_id, d.score, d.responded_at, d.respondent, e.tickets
        from detractors d
        join escalated e on e.account_id = d.account_id
        join accounts a on a.id = d.account_id
       where a.archived_at is null`.execute(db);
    return rows.map((r) => ({
      accountId: r.account_id,
      metrics: {
        npsScore: r.score,
        responseId: r.response_id,
        respondedAt: r.responded_at.toISOString(),
        respondent: r.respondent,
        escalatedTickets: r.tickets,
      },
    }));
  },
  describe(_rule, hit) {
    const m = hit.metrics as { npsScore: number; responseId: string; respondedAt: string; respondent: string | null; escalatedTickets: string[] };
    const who = m.respondent ? ` from ${m.respondent}` : '';
    const tickets =
      m.escalatedTickets.length === 1
        ? `escalated ticket ${m.escalatedTickets[0]} is open`
        : `${m.escalatedTickets.length} escalated tickets are open (${m.escalatedTickets.slice(0, 5).join(', ')}${m.escalatedTickets.length > 5 ? ', …' : ''})`;
    return {
      sentence: `NPS answer ${m.npsScore} (detractor)${who} on ${day(m.respondedAt)} while ${tickets}`,
      bucket: [m.responseId, [...m.escalatedTickets].sort()],
    };
  },
  cleared: (rule) => `no NPS answer of ${rule.params.maxScore} or less within ${rule.params.withinDays} days together with an open escalated ticket`,
};

const usageDrop: RuleKind<'usage_drop'> = {
  groups: ['usage'],
  async find(db, scope, rule) {
    const { dropPercent, minPriorEvents } = rule.params;
    // The last 7 complete UTC days against the 7 before them (today is partial).
    const { rows } = await sql<{ account_id: number; recent: number; prior: number }>`
      with weeks as (
        select account_id,
               coalesce(sum(events) filter (where day >= ${today} - 7), 0)::float8 as recent,
               coalesce(sum(events) filter (where day < ${today} - 7), 0)::float8 as prior
          from (select account_id, day, events from usage_daily
                union all -- deltas no compaction has folded in yet (src/signals/usage-compaction.ts)
                select account_id, day, events from usage_daily_deltas) u
         where day >= ${today} - 14 and day < ${today} and ${inScope(sql.ref('account_id'), scope)}
         group by account_id)
      select w.account_id, w.recent, w.prior
        from weeks w
        join accounts a on a.id = w.account_id
       where a.archived_at is null and w.prior >= ${minPriorEvents}::float8
         and (w.prior - w.recent) * 100 >= ${dropPercent}::float8 * w.prior`.execute(db);
    return rows.map((r) => ({
      accountId: r.account_id,
      metrics: {
        eventsLast7Days: r.recent,
        eventsPrior7Days: r.prior,
        dropPercent: Math.round(((r.prior - r.recent) / r.prior) * 1000) / 10,
      },
    }));
  },
  describe(_rule, hit) {
    const m = hit.metrics as { eventsLast7Days: number; eventsPrior7Days: number; dropPercent: number };
    return {
      sentence: `usage down ${whole(m.dropPercent)}% week over week (${m.eventsPrior7Days} \u2192 ${m.eventsLast7Days} events)`,
      bucket: Math.floor(m.dropPercent / 25),
    };
  },
  cleared: (rule) => `usage is no longer down ${rule.params.dropPercent}% week over week`,
};

const paymentOverdueNearRenewal: RuleKind<'payment_overdue_near_renewal'> = {
  groups: ['commercial'],
  async find(db, scope, rule) {
    const { withinDays } = rule.params;
    const { rows } = await sql<{ account_id: number; renewal_date: string; days: number; contracts: string[] }>`
      with renewals as (${renewals(scope)}),
      overdue as (
        select account_id, jsonb_agg(contract_id order by contract_id) as contracts
          from contracts
         where payment_status = 'overdue' and status in ('active', 'renewed') and ${inScope(sql.ref('account_id'), scope)}
         group by account_id)
      select r.account_id, r.renewal_date, r.renewal_date - ${today} as days, o.contracts
        from renewals r
        join overdue o on o.account_id = r.account_id
       where r.renewal_date <= ${today} + ${withinDays}::int`.execute(db);
    return rows.map((r) => ({
      accountId: r.account_id,
      metrics: { overdueContracts: r.contracts, renewalDate: r.renewal_date, daysToRenewal: r.days },
    }));
  },
  describe(_rule, hit) {
    const m = hit.metrics as { overdueContracts: string[]; renewalDate: string; daysToRenewal: number };
    const contracts = m.overdueContracts.length === 1 ? `contract ${m.overdueContracts[0]}` : `contracts ${m.overdueContracts.join(', ')}`;
    const when = m.daysToRenewal === 0 ? 'renewal today' : `renewal in ${plural(m.daysToRenewal, 'day')}`;
    return { sentence: `payment overdue on ${contracts} with ${when} (${m.renewalDate})`, bucket: [m.renewalDate, m.overdueContracts] };
  },
  cleared: (rule) => `no overdue payment with a renewal within ${rule.params.withinDays} days`,
};

export const RULE_KINDS: { [T in RuleType]: RuleKind<T> } = {
  entered_red: enteredRed,
  score_drop: scoreDrop,
  renewal_at_risk: renewalAtRisk,
  detractor_with_escalation: detractorWithEscalation,
  usage_drop: usageDrop,
  payment_overdue_near_renewal: paymentOverdueNearRenewal,
};

export const kindOf = <T extends RuleType>(rule: RuleOf<T> | Rule) => RULE_KINDS[rule.type] as unknown as RuleKind<T>;
