/** Tables of sql/0055_fit_proposals.sql. */
import type { Generated } from 'kysely';

export interface FitProposalTables {
  fit_proposals: {
    id: Generated<number>;
    created_at: Generated<Date>;
    trigger: string;
    status: string;
    segment_key: Generated<string>;
    outcomes_total: number;
    outcomes_until: Date | null;
    draft_scorecard_id: number | null;
    better: Generated<boolean>;
    notified: Generated<boolean>;
    payload: unknown;
  };
}
