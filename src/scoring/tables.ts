import type { Generated } from 'kysely';
import type { Timestamp } from '../db/schema.js';

/** Tables of sql/0004_scoring.sql. */
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
    pulse: number | null;
  };
  feature_distributions: {
    feature: string;
    segment_key: string;
    breakpoints: number[];
    negated_breakpoints: number[];
    computed_at: Generated<Date>;
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
