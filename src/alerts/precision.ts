import { churnProbability, plainBand } from '../scoring/model.js';
import type { ScorecardDefinition } from '../scoring/scorecard.js';
import { budgetLimit, expectedLoss, rankByLoss } from './budget.js';
import type { RuleSetDefinition } from './rules.js';

/** One backtest observation: an account as of its instant, with what it turned out to do. */
export interface AlertObservation {
  churned: boolean;
  score: number | null;
  arr: number | null;
  asOf: Date;
  daysToRenewal: number | null;
  paymentOverdue: number | null;
  latestNps: number | null;
  npsSeen: number | null;
  escalations90d: number | null;
}

export interface AlertPrecision {
  /** Observations the rules could alert on (scored). */
  observations: number;
  alerted: number;
  shareAlerted: number | null;
  precision: number | null;
  recall: number | null;
  /** Alerts per specialist per week over the weeks the observations span. */
  alertsPerSpecialistPerWeek: number | null;
}

/** Rule types a backtest can evaluate from an observation's score and features; score_drop and usage_drop need history it does not keep. */
export const BACKTESTED_RULE_TYPES = ['entered_red', 'renewal_at_risk', 'payment_overdue_near_renewal', 'detractor_with_escalation'] as const;

/** Whether any enabled rule of the set holds for the observation (as of its instant). */
function anyRuleHolds(rules: RuleSetDefinition['rules'], card: ScorecardDefinition, o: AlertObservation): boolean {
  if (o.score === null) return false;
  return rules.some((rule) => {
    if (!rule.enabled) return false;
    switch (rule.type) {
      case 'entered_red':
        return plainBand(o.score!, card.bands) === 'red';
      case 'renewal_at_risk':
        return o.daysToRenewal !== null && o.daysToRenewal >= 0 && o.daysToRenewal <= rule.params.withinDays && o.score! < rule.params.belowScore;
      case 'payment_overdue_near_renewal':
        return o.paymentOverdue === 1 && o.daysToRenewal !== null && o.daysToRenewal >= 0 && o.daysToRenewal <= rule.params.withinDays;
      case 'detractor_with_escalation':
        return (
          o.latestNps !== null && o.latestNps <= rule.params.maxScore && o.npsSeen !== null && o.npsSeen <= rule.params.withinDays && (o.escalations90d ?? 0) > 0
        );
      default:
        return false;
    }
  });
}

const r4 = (x: number) => (Number.isFinite(x) ? Math.round(x * 10_000) / 10_000 : null);

function measure(observations: AlertObservation[], alerted: boolean[], specialists: number): AlertPrecision {
  const n = observations.length;
  const hits = alerted.filter(Boolean).length;
  const caught = observations.filter((o, i) => alerted[i] && o.churned).length;
  const churned = observations.filter((o) => o.churned).length;
  const times = observations.map((o) => o.asOf.getTime());
  const weeks = n ? Math.max(1, (Math.max(...times) - Math.min(...times)) / (7 * 86_400_000)) : 1;
  return {
    observations: n,
    alerted: hits,
    shareAlerted: r4(hits / n),
    precision: r4(caught / hits),
    recall: r4(caught / churned),
    alertsPerSpecialistPerWeek: n ? r4(hits / weeks / Math.max(1, specialists)) : null,
  };
}

/**
 * How the alert rules would have done on a backtest's outcomes: which
 * observations any (backtestable) rule flags, alone and within the budget
 * (the highest expected loss first, up to the budget's share of the
 * observations), and of those the share alerted, precision (alerted that
 * churned), recall (churned that were alerted) and the alerts per
 * specialist per week.
 */
export function alertPrecision(observations: AlertObservation[], card: ScorecardDefinition, rules: RuleSetDefinition, specialists: number) {
  const scored = observations.filter((o) => o.score !== null);
  const flagged = scored.map((o) => anyRuleHolds(rules.rules, card, o));
  const rulesAlone = measure(scored, flagged, specialists);
  let withBudget: AlertPrecision | null = null;
  if (rules.budget) {
    const limit = budgetLimit(rules.budget, scored.length, specialists);
    const ranked = rankByLoss(
      scored.flatMap((o, i) => (flagged[i] ? [{ accountId: i, loss: expectedLoss(o.score, o.arr, churnProbability(card, o.score)) }] : [])),
    );
    const chosen = new Set(ranked.slice(0, limit).map((r) => r.accountId));
    withBudget = measure(scored, scored.map((_, i) => chosen.has(i)), specialists);
  }
  return {
    ruleTypes: [...new Set(rules.rules.filter((r) => r.enabled).map((r) => r.type))].filter((t) => (BACKTESTED_RULE_TYPES as readonly string[]).includes(t)),
    notBacktested: [...new Set(rules.rules.filter((r) => r.enabled).map((r) => r.type))].filter((t) => !(BACKTESTED_RULE_TYPES as readonly string[]).includes(t)),
    specialists,
    rulesAlone,
    withBudget,
  };
}
export type AlertPrecisionReport = ReturnType<typeof alertPrecision>;
