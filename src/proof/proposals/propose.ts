import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../../db/schema.js';
import { inTransaction } from '../../db/transaction.js';
import { DomainError } from '../../lib/errors.js';
import { pairedAucs } from '../../scoring/learn/delong.js';
import { activeScorecards, createScorecardVersion, ensureDefaultScorecard } from '../../scoring/scorecards.js';
import { MIN_OUTCOMES_PER_CLASS, fitScorecard, fitSummary } from '../fit.js';
import { saveReport } from '../reports.js';
import { type FitProposal, type ProposalTrigger, interval4, r4 } from './model.js';
import { insertProposal, lastProposal, markNotified, outcomeCounts } from './repository.js';

type Db = Kysely<Database>;

/** Tells the analysts about a proposal worth their look (the root wires it to the notifications). */
export type ProposalNotifier = (trx: Transaction<Database>, proposal: FitProposal) => Promise<number>;

export interface ProposeOptions {
  now?: Date;
  /** Who asked: the weekly schedule, an outcomes import, or a person (default: decided from the new outcomes). */
  trigger?: ProposalTrigger;
  /** New outcomes (recorded since the last proposal) needed before fitting again (default 50). */
  minNewOutcomes?: number;
  /** A scheduled proposal waits this long after the previous one (default 7 days). */
  intervalDays?: number;
  /** The draft is "better" when the lower end of its AUC gain's 95 % interval exceeds this (default 0.02). */
  margin?: number;
  seed?: number;
  notify?: ProposalNotifier;
}

export type ProposeResult = { proposal: FitProposal; skipped: null } | { proposal: null; skipped: string };

const DAY = 86_400_000;
const METHOD = 'DeLong test of the paired AUCs on the same outcomes: the draft’s out-of-fold scores against the active scorecard’s';

/**
 * Looks whether enough new outcomes exist; if so, fits a draft of the default
 * segment's scorecard (stored as an inactive version with its fit report),
 * compares it with the active scorecard on the same outcomes and stores a
 * proposal; the analysts hear of it when the draft is better by a margin the
 * interval supports. Never activates anything.
 */
export async function proposeFit(db: Db, options: ProposeOptions = {}): Promise<ProposeResult> {
  const now = options.now ?? new Date();
  const minNew = options.minNewOutcomes ?? 50;
  const margin = options.margin ?? 0.02;
  await ensureDefaultScorecard(db);
  const active = (await activeScorecards(db)).find((s) => s.segment === null)!;
  const last = await lastProposal(db, null);
  const counts = await outcomeCounts(db, last?.outcomes_until ?? null);
  const manual = options.trigger === 'manual';
  if (counts.total === 0) return { proposal: null, skipped: 'no outcomes yet' };
  if (last && counts.fresh === 0 && !manual) return { proposal: null, skipped: 'no new outcomes since the last proposal' };
  if (last && counts.fresh < minNew && !manual) return { proposal: null, skipped: `${counts.fresh} new outcomes since the last proposal; ${minNew} needed` };
  const imported = counts.imported > 0;
  const due = !last || now.getTime() - new Date(last.created_at).getTime() >= (options.intervalDays ?? 7) * DAY;
  if (!imported && !due && !manual) return { proposal: null, skipped: 'the last proposal is less than a week old and no outcomes were imported since' };
  const trigger: ProposalTrigger = options.trigger ?? (imported ? 'outcomes_import' : 'schedule');
  const horizonDays = active.definition.calibration?.horizonDays ?? 90;
  const base = {
    trigger,
    segment: null,
    horizonDays,
    outcomes: { total: counts.total, churned: null, retained: null, newSinceLastProposal: counts.fresh },
    active: null,
    draft: null,
    comparison: null,
    better: false,
    references: null,
  };
  const store = (payload: Omit<FitProposal, 'id' | 'createdAt' | 'notified'>, draftScorecardId: number | null) =>
    insertProposal(db, { trigger, status: payload.status, segment: null, outcomesTotal: counts.total, outcomesUntil: counts.latest, draftScorecardId, better: payload.better, payload });

  let fitted: Awaited<ReturnType<typeof fitScorecard>>;
  try {
    fitted = await fitScorecard(db, {
      horizonDays,
      connected: active.definition.connected,
      name: `Proposed fit ${now.toISOString().slice(0, 10)}`,
      compareWith: active.definition,
      ...(options.seed !== undefined ? { seed: options.seed } : {}),
    });
  } catch (error) {
    if (!(error instanceof DomainError) || error.code !== 'unprocessable') throw error;
    const tooFew = typeof error.extensions.required === 'number';
    const churned = typeof error.extensions.churned === 'number' ? error.extensions.churned : null;
    const retained = typeof error.extensions.retained === 'number' ? error.extensions.retained : null;
    const proposal = await store({ ...base, status: tooFew ? 'too_few_outcomes' : 'failed', reason: error.detail, outcomes: { ...base.outcomes, churned, retained } }, null);
    return { proposal, skipped: null };
  }

  const { result, compared } = fitted;
  const churned = compared!.churned;
  const paired = pairedAucs(compared!.risk, result.validation.outOfFoldRisk, churned);
  const better = Number.isFinite(paired.interval[0]) && paired.interval[0] > margin;
  const refs = result.validation.references;
  const { proposal, draftCard } = await inTransaction(db, async (trx) => {
    const draftCard = await createScorecardVersion(trx, null, fitted.definition);
    const report = await saveReport(trx, {
      kind: 'fit',
      scorecardId: draftCard.id,
      definition: fitted.definition,
      options: { horizonDays, from: null, to: null, proposal: true },
      report: { fit: fitSummary(result), backtest: fitted.backtest },
    });
    const difference = r4(paired.difference);
    const reason = better
      ? `the draft ranks churn better: AUC ${r4(paired.aucB)} against ${r4(paired.aucA)}, a gain of ${difference} (95 % interval ${interval4(paired.interval)?.join(' to ')}) above the ${margin} margin`
      : `the draft does not beat the active scorecard by a margin the data supports: AUC ${r4(paired.aucB)} against ${r4(paired.aucA)} (gain 95 % interval ${interval4(paired.interval)?.join(' to ') ?? 'unknown'}; needs to lie above ${margin})`;
    const proposal = await insertProposal(trx, {
      trigger,
      status: better ? 'proposed' : 'not_better',
      segment: null,
      outcomesTotal: counts.total,
      outcomesUntil: counts.latest,
      draftScorecardId: draftCard.id,
      better,
      payload: {
        ...base,
        status: better ? 'proposed' : 'not_better',
        reason,
        outcomes: { ...base.outcomes, churned: result.churned, retained: result.observations - result.churned },
        active: { scorecardId: active.id, version: active.version, auc: r4(paired.aucA), aucInterval: interval4(paired.intervalA) },
        draft: { scorecardId: draftCard.id, version: draftCard.version, auc: r4(paired.aucB), aucInterval: interval4(paired.intervalB), fitReportId: report.id },
        comparison: { aucDifference: difference, interval: interval4(paired.interval), method: METHOD, margin },
        better,
        references: refs ? { logisticRegression: { auc: r4(refs.logisticRegression.mean) }, boostedTrees: { auc: r4(refs.boostedTrees.mean) } } : null,
      },
    });
    if (better && options.notify && (await options.notify(trx, proposal)) > 0) {
      await markNotified(trx, proposal.id);
      proposal.notified = true;
    }
    return { proposal, draftCard };
  });
  void draftCard;
  return { proposal, skipped: null };
}

export { MIN_OUTCOMES_PER_CLASS };
