/** What a fit proposal says (docs/proof-of-score.md; GET /v1/fit-proposals/{id}). */

export type ProposalTrigger = 'schedule' | 'outcomes_import' | 'manual';
export type ProposalStatus = 'proposed' | 'not_better' | 'too_few_outcomes' | 'failed';

export interface FitProposal {
  id: number;
  createdAt: string;
  trigger: ProposalTrigger;
  status: ProposalStatus;
  reason: string;
  segment: string | null;
  horizonDays: number;
  outcomes: { total: number; churned: number | null; retained: number | null; newSinceLastProposal: number };
  active: { scorecardId: number; version: number; auc: number | null; aucInterval: [number, number] | null } | null;
  draft: { scorecardId: number; version: number; auc: number | null; aucInterval: [number, number] | null; fitReportId: number } | null;
  comparison: { aucDifference: number | null; interval: [number, number] | null; method: string; margin: number } | null;
  better: boolean;
  references: { logisticRegression: { auc: number | null }; boostedTrees: { auc: number | null } } | null;
  notified: boolean;
}

export const r4 = (x: number) => (Number.isFinite(x) ? Math.round(x * 10_000) / 10_000 : null);
export const interval4 = (i: [number, number]): [number, number] | null => (Number.isFinite(i[0]) && Number.isFinite(i[1]) ? [r4(i[0])!, r4(i[1])!] : null);
