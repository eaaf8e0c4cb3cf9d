/** Tables of sql/0004_scoring.sql. */
export interface ScoringTables {}
