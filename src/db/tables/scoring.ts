import type { Generated } from 'kysely';
import type { Timestamp } from '../types.js';

/** Tables of sql/0004_scoring.sql (and their later columns). */
export interface ScoringTables {
  scorecards: {
    id: Generated<number>;
    segment_key: Generated<string>;
    version: number;
    definition: unknown;
    active: Generated<boolean>;
    created_at: Generated<Date>;
    activated_at: Timestamp | null;
  };
  health_scores: {
    account_id: number;
    scorecard_id: number;
    score: number | null;
    base_score: number | null;
    band: string | null;
    coverage: number;
    raw: (number | null)[];
    sub: (number | null)[];
    status: Generated<number[]>;
    pulse: number | null;
    computed_at: Generated<Date>;
    updated_at: Generated<Date>;
    band_changed_at: Date | null;
    change_seq: number;
  };
  health_snapshots: {
    account_id: number;
    taken_at: Date;
    reason: string;
    day: string;
    scorecard_id: number;
    score: number | null;
    band: string | null;
    previous_band: string | null;
    coverage: number;
    raw: (number | null)[];
    sub: (number | null)[];
    status: Generated<number[]>;
    pulse: number | null;
    /** Written by the history backfill for a past day (sql/0050), not by a live run. */
    backfilled: Generated<boolean>;
  };
  /** Accounts whose signals arrived back-dated, for the history backfill (sql/0050). */
  history_backfill_marks: {
    account_id: number;
    since: string;
    marked_at: Generated<Date>;
  };
  /** Past instants scored by the history backfill, with their no-information features (sql/0050). */
  history_instants: {
    as_of: Date;
    uninformative: string[];
    accounts: number;
    computed_at: Generated<Date>;
  };
  feature_distributions: {
    feature: string;
    segment_key: string;
    breakpoints: number[];
    negated_breakpoints: number[];
    computed_at: Generated<Date>;
  };
  feature_information: {
    feature: string;
    day: string;
    accounts: number;
    distinct_values: number;
    computed_at: Generated<Date>;
  };
  outcomes: {
    account_id: number;
    outcome_key: string;
    kind: string;
    occurred_on: string;
    contract_id: string | null;
    arr: number | null;
    source: string;
    recorded_at: Generated<Date>;
  };
  scorecard_reports: {
    id: Generated<number>;
    kind: string;
    scorecard_id: number | null;
    definition: unknown;
    options: unknown;
    report: unknown;
    created_at: Generated<Date>;
  };
  source_days: {
    source: string;
    day: string;
  };
  health_pulses: {
    account_id: number;
    id: Generated<number>;
    adjustment: number;
    reason: string;
    author: string | null;
    expires_at: Timestamp;
    created_at: Generated<Date>;
  };
}
